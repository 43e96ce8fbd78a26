import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MvccStore, type WatchRequest, type WatchResponse } from "../../src/store/mvcc/index.js";

const b = (s: string) => Buffer.from(s);
const str = (u: Uint8Array) => Buffer.from(u).toString();
const ALL = { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };

/** A sink recording deliveries; `ready` decides what it answers. */
function recorder(ready: () => boolean = () => true) {
  const got: WatchResponse[] = [];
  const sink = (r: WatchResponse) => {
    got.push(r);
    return ready();
  };
  const events = () =>
    got.flatMap((r) => r.events.map((e) => `${e.kv.modRevision}:${e.type}:${str(e.kv.key)}`));
  return { got, sink, events };
}

function watch(s: MvccStore, req: WatchRequest, ready?: () => boolean) {
  const rec = recorder(ready);
  const id = s.watchHub.watch(req, rec.sink);
  return { id, ...rec };
}

describe("mvcc watch", () => {
  test("live events for a key, a range and from-key, one delivery per revision", () => {
    const s = new MvccStore();
    const one = watch(s, { key: b("a") });
    const pre = watch(s, { key: b("p/"), rangeEnd: b("p0") });
    const from = watch(s, { key: b("m"), rangeEnd: Buffer.from([0]) });
    s.put({ key: b("a"), value: b("1") }); // 2
    s.put({ key: b("p/x"), value: b("1") }); // 3
    s.txn({
      success: [
        { requestPut: { key: b("p/y"), value: b("1") } },
        { requestPut: { key: b("a"), value: b("2") } },
      ],
    }); // 4
    s.deleteRange({ key: b("p/"), rangeEnd: b("p0") }); // 5
    assert.deepEqual(one.events(), ["2:PUT:a", "4:PUT:a"]);
    assert.deepEqual(pre.events(), ["3:PUT:p/x", "4:PUT:p/y", "5:DELETE:p/x", "5:DELETE:p/y"]);
    assert.deepEqual(from.events(), pre.events());
    assert.deepEqual(
      pre.got.map((r) => r.revision),
      [3, 4, 5],
    );
    const d = pre.got[2]!.events[0]!;
    assert.deepEqual([d.kv.version, d.kv.createRevision, d.kv.value.length], [0, 0, 0]);
  });

  test("prevKv and filters", () => {
    const s = new MvccStore();
    const withPrev = watch(s, { key: b("k"), prevKv: true });
    const noPut = watch(s, { key: b("k"), filters: ["NOPUT"] });
    const noDel = watch(s, { key: b("k"), filters: ["NODELETE"] });
    s.put({ key: b("k"), value: b("1") });
    s.put({ key: b("k"), value: b("2") });
    s.deleteRange({ key: b("k") });
    const ev = withPrev.got.map((r) => r.events[0]!);
    assert.equal(ev[0]!.prevKv, undefined);
    assert.equal(str(ev[1]!.prevKv!.value), "1");
    assert.equal(str(ev[2]!.prevKv!.value), "2");
    assert.deepEqual(noPut.events(), ["4:DELETE:k"]);
    assert.deepEqual(noDel.events(), ["2:PUT:k", "3:PUT:k"]);
    assert.equal(noPut.got.length, 1, "filtered-out revisions are not delivered at all");
    assert.equal(watch(s, { key: b("k") }).got.length, 0);
  });

  test("replay from history through syncWatchers, then live", () => {
    const s = new MvccStore();
    s.put({ key: b("a"), value: b("1") }); // 2
    s.put({ key: b("b"), value: b("1") }); // 3
    s.put({ key: b("a"), value: b("2") }); // 4
    const w = watch(s, { key: b("a"), startRevision: 3, prevKv: true });
    assert.equal(s.watchHub.pending, 1);
    assert.equal(s.watchHub.isSynced(w.id), false);
    assert.equal(s.watchHub.progress([w.id]), undefined);
    assert.equal(s.watchHub.syncWatchers(), 0);
    assert.deepEqual(w.events(), ["4:PUT:a"]);
    assert.equal(str(w.got[0]!.events[0]!.prevKv!.value), "1");
    assert.equal(s.watchHub.progress([w.id]), 4);
    s.put({ key: b("a"), value: b("3") });
    assert.deepEqual(w.events(), ["4:PUT:a", "5:PUT:a"]);
    // startRevision 1 replays everything.
    const all = watch(s, { ...ALL, startRevision: 1 });
    s.watchHub.syncWatchers();
    assert.deepEqual(all.events(), ["2:PUT:a", "3:PUT:b", "4:PUT:a", "5:PUT:a"]);
  });

  test("a future start revision waits for it", () => {
    const s = new MvccStore();
    const w = watch(s, { key: b("a"), startRevision: 4 });
    s.put({ key: b("a"), value: b("1") }); // 2
    s.put({ key: b("a"), value: b("2") }); // 3
    s.put({ key: b("a"), value: b("3") }); // 4
    assert.deepEqual(w.events(), ["4:PUT:a"]);
  });

  test("catch-up is bounded and never splits a revision", () => {
    const s = new MvccStore();
    for (let i = 0; i < 10; i++) {
      s.txn({ success: [0, 1, 2].map((j) => ({ requestPut: { key: b(`k${j}`), value: b(`${i}`) } })) });
    }
    const w = watch(s, { ...ALL, startRevision: 2 });
    let calls = 0;
    while (s.watchHub.syncWatchers(1000, 4) > 0) calls++;
    assert.ok(calls >= 4, `expected several bounded steps, got ${calls}`);
    for (const r of w.got) {
      assert.ok(r.events.length <= 6);
      const revs = new Set(r.events.map((e) => e.kv.modRevision));
      assert.equal(r.events.length, revs.size * 3, "whole revisions only");
    }
    assert.equal(w.events().length, 30);
    // A tight scan budget also makes progress.
    const w2 = watch(s, { ...ALL, startRevision: 2 });
    while (s.watchHub.syncWatchers(1) > 0);
    assert.deepEqual(w2.events(), w.events());
  });

  test("compacted start revision: compacted response, watcher removed", () => {
    const s = new MvccStore();
    for (let i = 0; i < 5; i++) s.put({ key: b("a"), value: b(`${i}`) }); // 2..6
    s.compact(5);
    const w = watch(s, { key: b("a"), startRevision: 4 });
    s.watchHub.syncWatchers();
    assert.equal(w.got.length, 1);
    assert.deepEqual(
      { c: w.got[0]!.compactRevision, canceled: w.got[0]!.canceled, n: w.got[0]!.events.length },
      { c: 5, canceled: true, n: 0 },
    );
    assert.equal(s.watchHub.cancel(w.id), false);
    // Starting exactly at the compact revision is fine, without a prevKv for that revision.
    const ok = watch(s, { key: b("a"), startRevision: 5, prevKv: true });
    s.watchHub.syncWatchers();
    assert.deepEqual(ok.events(), ["5:PUT:a", "6:PUT:a"]);
    assert.equal(ok.got[0]!.events[0]!.prevKv, undefined);
    assert.equal(str(ok.got[0]!.events[1]!.prevKv!.value), "3");
  });

  test("cancel stops deliveries, also from inside a sink", () => {
    const s = new MvccStore();
    const w = watch(s, { key: b("a") });
    s.put({ key: b("a"), value: b("1") });
    assert.equal(s.watchHub.cancel(w.id), true);
    s.put({ key: b("a"), value: b("2") });
    assert.equal(w.got.length, 1);
    assert.equal(s.watchHub.size, 0);
    let other = 0;
    const first = s.watchHub.watch({ key: b("a") }, () => {
      s.watchHub.cancel(second);
      return true;
    });
    const second = s.watchHub.watch({ key: b("a") }, () => {
      other++;
      return true;
    });
    s.put({ key: b("a"), value: b("3") });
    assert.equal(other, 0);
    assert.ok(s.watchHub.cancel(first));
  });

  test("a throwing sink loses its watcher without failing the write", () => {
    const s = new MvccStore();
    const errors: number[] = [];
    s.watchHub.onSinkError = (id) => errors.push(id);
    const bad = s.watchHub.watch({ key: b("a") }, () => {
      throw new Error("sink broke");
    });
    const good = watch(s, { key: b("a") });
    assert.equal(s.put({ key: b("a"), value: b("1") }).revision, 2);
    assert.deepEqual(errors, [bad]);
    assert.deepEqual(good.events(), ["2:PUT:a"]);
    assert.equal(s.watchHub.size, 1);
  });

  test("a slow watcher is parked and caught up later without holding back others", () => {
    const s = new MvccStore();
    let slowReady = false;
    const slow = watch(s, { key: b("k") }, () => slowReady);
    const fast = watch(s, { key: b("k") });
    s.put({ key: b("k"), value: b("1") }); // 2: slow accepts, then reports backpressure
    for (let i = 2; i <= 5; i++) s.put({ key: b("k"), value: b(`${i}`) }); // 3..6
    assert.deepEqual(fast.events(), ["2:PUT:k", "3:PUT:k", "4:PUT:k", "5:PUT:k", "6:PUT:k"]);
    assert.deepEqual(slow.events(), ["2:PUT:k"]);
    assert.equal(s.watchHub.isSynced(slow.id), false);
    assert.equal(s.watchHub.syncWatchers(), 0, "parked watchers are not synced until resumed");
    assert.equal(slow.got.length, 1);
    slowReady = true;
    s.watchHub.resume(slow.id);
    assert.equal(s.watchHub.syncWatchers(), 0);
    assert.deepEqual(slow.events(), fast.events());
    assert.equal(slow.got.length, 2, "the backlog arrives in one catch-up delivery");
    s.put({ key: b("k"), value: b("7") });
    assert.equal(slow.events().at(-1), "7:PUT:k");
  });

  test("a parked watcher that falls behind compaction gets a compacted response", () => {
    const s = new MvccStore();
    const slow = watch(s, { key: b("k") }, () => false);
    s.put({ key: b("k"), value: b("1") }); // 2
    s.put({ key: b("k"), value: b("2") }); // 3
    s.put({ key: b("k"), value: b("3") }); // 4
    s.compact(4);
    s.watchHub.resume(slow.id);
    s.watchHub.syncWatchers();
    assert.equal(slow.got.at(-1)!.compactRevision, 4);
  });

  test("watchers re-sync after a snapshot restore", () => {
    const src = new MvccStore();
    src.put({ key: b("a"), value: b("1") }); // 2
    src.put({ key: b("a"), value: b("2") }); // 3
    src.put({ key: b("b"), value: b("x") }); // 4
    const snap = src.snapshot();
    const s = new MvccStore();
    s.put({ key: b("a"), value: b("old") }); // 2
    const w = watch(s, { key: b("a") });
    s.restoreFrom(snap);
    s.watchHub.syncWatchers();
    assert.deepEqual(w.events(), ["3:PUT:a"]);
    s.put({ key: b("a"), value: b("new") });
    assert.deepEqual(w.events(), ["3:PUT:a", "5:PUT:a"]);
  });
});
