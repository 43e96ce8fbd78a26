import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MvccError, MvccStore } from "../../src/store/mvcc/index.js";

const b = (s: string) => Buffer.from(s);
const ALL = { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };

function populate(s: MvccStore): void {
  s.leaseGrant(1n, 30);
  s.leaseGrant(2n, 60);
  for (let i = 0; i < 50; i++) {
    s.put({ key: b(`k${i % 7}`), value: b(`v${i}`), lease: i % 3 === 0 ? 1n : 0n });
    if (i % 5 === 0) s.deleteRange({ key: b(`k${(i + 3) % 7}`) });
    if (i % 11 === 0) {
      s.txn({
        success: [
          { requestDeleteRange: { key: b("k5"), rangeEnd: b("k7") } },
          { requestPut: { key: b("t"), value: b(`${i}`), lease: 2n } },
        ],
      });
    }
  }
  s.compact(s.revision - 20);
}

describe("mvcc snapshot/restore and hashKV", () => {
  test("round trip preserves reads at every kept revision, leases and hashes", () => {
    const s = new MvccStore();
    populate(s);
    const r = MvccStore.restore(s.snapshot());
    assert.equal(r.revision, s.revision);
    assert.equal(r.compactRevision, s.compactRevision);
    for (let rev = s.compactRevision; rev <= s.revision; rev++) {
      assert.deepEqual(r.range({ ...ALL, revision: rev }), s.range({ ...ALL, revision: rev }), `rev ${rev}`);
    }
    assert.deepEqual(r.leaseIds(), s.leaseIds());
    assert.deepEqual(r.leaseInfo(1n), s.leaseInfo(1n));
    assert.deepEqual(r.leaseInfo(2n), s.leaseInfo(2n));
    assert.equal(r.hashKV().hash, s.hashKV().hash);
    assert.equal(r.hashKV(s.revision - 3).hash, s.hashKV(s.revision - 3).hash);
    assert.equal(r.size(), s.size());
    // Identical futures: same writes give the same state.
    for (const x of [r, s]) {
      x.put({ key: b("after"), value: b("1") });
      x.leaseRevoke(1n);
    }
    assert.equal(r.hashKV().hash, s.hashKV().hash);
    assert.deepEqual(r.range(ALL), s.range(ALL));
    // A snapshot of the restored store is byte-identical.
    assert.deepEqual(Buffer.from(r.snapshot()), Buffer.from(s.snapshot()));
  });

  test("history replays identically from a restored store", () => {
    const s = new MvccStore();
    populate(s);
    const r = MvccStore.restore(s.snapshot());
    const collect = (x: MvccStore) => {
      const out: unknown[] = [];
      x.watchHub.watch({ ...ALL, startRevision: x.compactRevision, prevKv: true }, (resp) => {
        out.push(...resp.events);
        return true;
      });
      x.watchHub.syncWatchers();
      return out;
    };
    assert.deepEqual(collect(r), collect(s));
  });

  test("hash differs when state differs, and reports compaction errors", () => {
    const a = new MvccStore();
    const c = new MvccStore();
    a.put({ key: b("x"), value: b("1") });
    c.put({ key: b("x"), value: b("2") });
    assert.notEqual(a.hashKV().hash, c.hashKV().hash);
    a.put({ key: b("x"), value: b("3") });
    a.put({ key: b("x"), value: b("4") });
    a.compact(3);
    assert.throws(
      () => a.hashKV(2),
      (e: unknown) => e instanceof MvccError && e.code === "COMPACTED",
    );
    assert.throws(
      () => a.hashKV(9),
      (e: unknown) => e instanceof MvccError && e.code === "FUTURE_REV",
    );
    assert.equal(a.hashKV().compactRevision, 3);
  });

  test("compacting in steps or at once gives the same hash", () => {
    const x = new MvccStore();
    const y = new MvccStore();
    for (const s of [x, y]) populate(s);
    x.compact(x.revision - 10);
    x.compact(x.revision - 2);
    y.compact(y.revision - 2);
    assert.equal(x.hashKV().hash, y.hashKV().hash);
  });

  test("corrupt or foreign snapshots are rejected with BAD_SNAPSHOT", () => {
    const s = new MvccStore();
    populate(s);
    const snap = Buffer.from(s.snapshot());
    const bad = (data: Uint8Array) =>
      assert.throws(
        () => MvccStore.restore(data),
        (e: unknown) => e instanceof MvccError && e.code === "BAD_SNAPSHOT",
      );
    const flipped = Buffer.from(snap);
    flipped[20] = flipped[20]! ^ 0xff;
    bad(flipped);
    bad(snap.subarray(0, snap.length - 10));
    bad(Buffer.from("hello world, not a snapshot"));
    bad(new Uint8Array(0));
  });

  test("an empty store round-trips", () => {
    const r = MvccStore.restore(new MvccStore().snapshot());
    assert.equal(r.revision, 1);
    assert.equal(r.range(ALL).kvs.length, 0);
  });

  test("large values, many records and extreme lease ids round-trip byte-identically", () => {
    const s = new MvccStore();
    s.leaseGrant(2n ** 62n, 30);
    s.leaseGrant(-5n, 40);
    const big = Buffer.alloc(200_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    s.put({ key: b("big"), value: big, lease: 2n ** 62n });
    for (let i = 0; i < 3000; i++) {
      s.put({ key: b(`n/${i % 1000}`), value: Buffer.alloc(i % 300, i & 0xff), lease: i % 2 ? -5n : 0n });
    }
    s.compact(s.revision - 500);
    const image = Buffer.from(s.snapshot());
    const r = MvccStore.restore(image);
    assert.deepEqual(r.range(ALL), s.range(ALL));
    assert.deepEqual(r.range({ key: b("big") }).kvs[0]!.value, big);
    assert.equal(r.hashKV().hash, s.hashKV().hash);
    assert.deepEqual(r.leaseInfo(-5n), s.leaseInfo(-5n));
    assert.deepEqual(Buffer.from(r.snapshot()), image);
    // Restored records do not keep views into the image.
    image.fill(0);
    assert.deepEqual(r.range({ key: b("big") }).kvs[0]!.value, big);
    assert.equal(r.range({ key: b("n/7") }).kvs[0]!.key.toString(), "n/7");
  });
});
