// Randomized differential test: MvccStore against a deliberately naive model that copies the
// whole keyspace at every revision.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type Compare,
  type KeyValue,
  MvccError,
  MvccStore,
  type RequestOp,
  type WatchResponse,
} from "../../src/store/mvcc/index.js";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface MKv {
  key: string;
  value: string;
  create: number;
  mod: number;
  version: number;
  lease: bigint;
}
type State = Map<string, MKv>;

class Model {
  rev = 1;
  compactRev = 0;
  states = new Map<number, State>([[1, new Map()]]);
  leases = new Set<bigint>();
  events: string[] = [];

  get cur(): State {
    return this.states.get(this.rev)!;
  }

  /** Keys in [lo, hi) ("" hi = single key lo; "\0" = from-key). */
  static inRange(k: string, lo: string, hi: string): boolean {
    if (hi === "") return k === lo;
    if (hi === "\0") return k >= lo;
    return k >= lo && k < hi;
  }

  range(lo: string, hi: string, rev: number): MKv[] {
    if (rev > this.rev) throw new MvccError("FUTURE_REV");
    const at = rev <= 0 ? this.rev : rev;
    if (at < this.compactRev) throw new MvccError("COMPACTED");
    return [...this.states.get(at)!.values()]
      .filter((kv) => Model.inRange(kv.key, lo, hi))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** Applies ops to a working copy at rev+1; commits a revision if anything changed. */
  write(apply: (work: State, rev: number, changed: () => void) => void): void {
    const work = new Map(this.cur);
    let changed = false;
    apply(work, this.rev + 1, () => (changed = true));
    if (changed) {
      this.rev++;
      this.states.set(this.rev, work);
    }
  }

  putInto(work: State, rev: number, key: string, value: string, lease: bigint): MKv | undefined {
    const prev = work.get(key);
    const kv = {
      key,
      value,
      lease,
      mod: rev,
      create: prev ? prev.create : rev,
      version: prev ? prev.version + 1 : 1,
    };
    work.set(key, kv);
    this.events.push(`${rev}:PUT:${key}:${value}:${prev?.value ?? "-"}`);
    return prev;
  }

  deleteFrom(work: State, rev: number, lo: string, hi: string): MKv[] {
    const gone = [...work.values()]
      .filter((kv) => Model.inRange(kv.key, lo, hi))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    for (const kv of gone) {
      work.delete(kv.key);
      this.events.push(`${rev}:DELETE:${kv.key}:-:${kv.value}`);
    }
    return gone;
  }

  compare(c: {
    key: string;
    target: "VALUE" | "VERSION" | "MOD";
    result: string;
    arg: string | number;
  }): boolean {
    const kv = this.cur.get(c.key);
    if (kv === undefined && c.target === "VALUE") return false;
    let r: number;
    if (c.target === "VALUE") r = kv!.value < (c.arg as string) ? -1 : kv!.value > (c.arg as string) ? 1 : 0;
    else r = Math.sign((c.target === "VERSION" ? (kv?.version ?? 0) : (kv?.mod ?? 0)) - (c.arg as number));
    return c.result === "EQUAL"
      ? r === 0
      : c.result === "GREATER"
        ? r > 0
        : c.result === "LESS"
          ? r < 0
          : r !== 0;
  }
}

const KEYS = ["a", "b", "c", "d", "e", "f"];
const b = (s: string) => Buffer.from(s, "latin1");
const str = (u: Uint8Array) => Buffer.from(u).toString("latin1");
const view = (kv: KeyValue) => ({
  key: str(kv.key),
  value: str(kv.value),
  create: kv.createRevision,
  mod: kv.modRevision,
  version: kv.version,
  lease: kv.lease,
});

function outcome<T>(fn: () => T): T | { error: string } {
  try {
    return fn();
  } catch (e) {
    if (e instanceof MvccError) return { error: e.code };
    throw e;
  }
}

function runSeed(seed: number, steps: number): void {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const s = new MvccStore();
  const m = new Model();
  let nextLease = 1n;

  const watched: string[] = [];
  let ready = true;
  const wid = s.watchHub.watch(
    { key: b("\0"), rangeEnd: b("\0"), startRevision: 1, prevKv: true },
    (r: WatchResponse) => {
      for (const e of r.events) {
        watched.push(
          `${e.kv.modRevision}:${e.type}:${str(e.kv.key)}:${e.type === "PUT" ? str(e.kv.value) : "-"}:${e.prevKv ? str(e.prevKv.value) : "-"}`,
        );
      }
      return ready;
    },
  );

  const randRange = (): [string, string] => {
    const lo = pick(KEYS);
    const r = rnd();
    if (r < 0.5) return [lo, ""];
    if (r < 0.7) return [lo, "\0"];
    return [lo, pick(KEYS)];
  };
  const rangeEndBytes = (hi: string) => (hi === "" ? undefined : b(hi));

  for (let step = 0; step < steps; step++) {
    const op = rnd();
    const ctx = `seed ${seed} step ${step}`;
    ready = rnd() > 0.2;
    if (op < 0.35) {
      const key = pick(KEYS);
      const value = `v${step}`;
      const useLease = rnd() < 0.3 && m.leases.size > 0 ? pick([...m.leases, 999n]) : 0n;
      const got = outcome(() => s.put({ key: b(key), value: b(value), lease: useLease, prevKv: true }));
      const want = outcome(() => {
        if (useLease !== 0n && !m.leases.has(useLease)) throw new MvccError("LEASE_NOT_FOUND");
        let prev: MKv | undefined;
        m.write((w, rev, changed) => {
          prev = m.putInto(w, rev, key, value, useLease);
          changed();
        });
        return { revision: m.rev, prev };
      });
      if ("error" in want) assert.deepEqual(got, want, ctx);
      else {
        assert.ok(!("error" in got), ctx);
        assert.equal(got.revision, want.revision, ctx);
        assert.deepEqual(got.prevKv && view(got.prevKv), want.prev, ctx);
      }
    } else if (op < 0.5) {
      const [lo, hi] = randRange();
      const got = s.deleteRange({ key: b(lo), rangeEnd: rangeEndBytes(hi), prevKv: true });
      let gone: MKv[] = [];
      m.write((w, rev, changed) => {
        gone = m.deleteFrom(w, rev, lo, hi);
        if (gone.length > 0) changed();
      });
      assert.equal(got.revision, m.rev, ctx);
      assert.equal(got.deleted, gone.length, ctx);
      assert.deepEqual(got.prevKvs.map(view), gone, ctx);
    } else if (op < 0.7) {
      // A txn with distinct keys per op so it passes the duplicate-key checks.
      const shuffled = [...KEYS].sort(() => rnd() - 0.5);
      const cmps = Array.from({ length: Math.floor(rnd() * 3) }, () => ({
        key: pick(KEYS),
        target: pick(["VALUE", "VERSION", "MOD"] as const),
        result: pick(["EQUAL", "GREATER", "LESS", "NOT_EQUAL"] as const),
        arg: 0 as string | number,
      }));
      for (const c of cmps)
        c.arg = c.target === "VALUE" ? `v${Math.floor(rnd() * step)}` : Math.floor(rnd() * 4);
      const branch = (): {
        ops: RequestOp[];
        model: ((w: State, rev: number, changed: () => void) => void)[];
      } => {
        const ops: RequestOp[] = [];
        const model: ((w: State, rev: number, changed: () => void) => void)[] = [];
        for (let i = 0; i < 3; i++) {
          const key = shuffled.pop()!;
          const value = `t${step}.${i}`;
          if (rnd() < 0.6) {
            ops.push({ requestPut: { key: b(key), value: b(value) } });
            model.push((w, rev, changed) => {
              m.putInto(w, rev, key, value, 0n);
              changed();
            });
          } else {
            ops.push({ requestDeleteRange: { key: b(key) } });
            model.push((w, rev, changed) => {
              if (m.deleteFrom(w, rev, key, "").length > 0) changed();
            });
          }
        }
        return { ops, model };
      };
      const yes = branch();
      const no = branch();
      const compare: Compare[] = cmps.map((c) => ({
        key: b(c.key),
        target: c.target,
        result: c.result,
        ...(c.target === "VALUE"
          ? { value: b(c.arg as string) }
          : c.target === "VERSION"
            ? { version: c.arg as number }
            : { modRevision: c.arg as number }),
      }));
      const got = s.txn({ compare, success: yes.ops, failure: no.ops });
      const ok = cmps.every((c) => m.compare(c));
      m.write((w, rev, changed) => {
        for (const f of (ok ? yes : no).model) f(w, rev, changed);
      });
      assert.equal(got.succeeded, ok, ctx);
      assert.equal(got.revision, m.rev, ctx);
    } else if (op < 0.85) {
      const [lo, hi] = randRange();
      const rev = rnd() < 0.5 ? 0 : Math.floor(rnd() * (m.rev + 2));
      const got = outcome(() =>
        s.range({ key: b(lo), rangeEnd: rangeEndBytes(hi), revision: rev }).kvs.map(view),
      );
      const want = outcome(() => m.range(lo, hi, rev));
      assert.deepEqual(got, want, ctx);
    } else if (op < 0.9) {
      const rev = m.compactRev + Math.floor(rnd() * 6) - 1;
      // Keep the watcher ahead of compaction so the differential covers every event.
      ready = true;
      while (s.watchHub.syncWatchers() > 0);
      const got = outcome(() => s.compact(rev).revision);
      const want = outcome(() => {
        if (rev <= m.compactRev) throw new MvccError("COMPACTED");
        if (rev > m.rev) throw new MvccError("FUTURE_REV");
        m.compactRev = rev;
        return m.rev;
      });
      assert.deepEqual(got, want, ctx);
    } else if (op < 0.95) {
      if (rnd() < 0.6 || m.leases.size === 0) {
        s.leaseGrant(nextLease, 60);
        m.leases.add(nextLease++);
      } else {
        const id = pick([...m.leases]);
        const got = s.leaseRevoke(id);
        m.leases.delete(id);
        m.write((w, rev, changed) => {
          for (const kv of [...w.values()]
            .filter((x) => x.lease === id)
            .sort((x, y) => (x.key < y.key ? -1 : 1))) {
            if (m.deleteFrom(w, rev, kv.key, "").length > 0) changed();
          }
        });
        assert.equal(got.revision, m.rev, ctx);
      }
    } else {
      // Restoring our own snapshot must change nothing observable.
      const hash = s.hashKV().hash;
      s.restoreFrom(s.snapshot());
      assert.equal(s.hashKV().hash, hash, ctx);
    }
    assert.equal(s.revision, m.rev, ctx);
    if (!ready) s.watchHub.resume(wid);
    ready = true;
    s.watchHub.syncWatchers(rnd() < 0.5 ? 3 : 10_000);
  }
  while (s.watchHub.syncWatchers() > 0);
  assert.deepEqual(watched, m.events, `seed ${seed}: watch stream`);
  assert.deepEqual(s.range({ key: b("\0"), rangeEnd: b("\0") }).kvs.map(view), m.range("\0", "\0", 0));
}

test("mvcc store matches a naive model under random operations (seeded)", () => {
  for (let seed = 1; seed <= 30; seed++) runSeed(seed, 400);
});
