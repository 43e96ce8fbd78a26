import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { WatchResponse } from "../../src/store/mvcc/types.js";
import { StoreError } from "../../src/store/server/errors.js";
import { StoreServer } from "../../src/store/server/server.js";
import { waitFor } from "../support/require.js";
import { b, ManualClock, quietLog, tempDir, text } from "./support/server.js";

describe("StoreServer KV", () => {
  const dir = tempDir();
  let s: StoreServer;
  before(async () => {
    s = await StoreServer.open({ dataDir: dir.path, log: quietLog() });
  });
  after(async () => {
    await s.close();
    dir.remove();
  });

  test("a fresh member leads, starts at revision 1 and reports one member", async () => {
    assert.equal(s.hasLeader(), true);
    const h = s.header();
    assert.equal(h.revision, 1);
    assert.equal(h.memberId, s.memberId);
    assert.ok(h.clusterId > 0n);
    const members = await s.memberList();
    assert.equal(members.members.length, 1);
    assert.equal(members.members[0]!.id, s.memberId);
    assert.equal(members.members[0]!.name, "default");
    const st = await s.status();
    assert.equal(st.leader, s.memberId);
    assert.match(st.version, /^3\.4\.\d+$/);
    assert.equal(st.raftAppliedIndex >= 2, true);
  });

  test("put, range, txn and delete round trip with etcd revisions and headers", async () => {
    const p1 = await s.put({ key: b("a"), value: b("1") });
    const rev1 = p1.header.revision;
    const p2 = await s.put({ key: b("a"), value: b("2"), prevKv: true });
    assert.equal(p2.header.revision, rev1 + 1);
    assert.equal(text(p2.prevKv?.value), "1");
    assert.ok(p2.header.raftTerm >= 2);

    const r = await s.range({ key: b("a") });
    assert.equal(r.header.revision, rev1 + 1);
    assert.equal(r.count, 1);
    assert.equal(text(r.kvs[0]!.value), "2");
    assert.equal(r.kvs[0]!.createRevision, rev1);
    assert.equal(r.kvs[0]!.modRevision, rev1 + 1);
    assert.equal(r.kvs[0]!.version, 2);

    const old = await s.range({ key: b("a"), revision: rev1, serializable: true });
    assert.equal(text(old.kvs[0]!.value), "1");

    const t = await s.txn({
      compare: [{ key: b("a"), target: "MOD", result: "EQUAL", modRevision: rev1 + 1 }],
      success: [{ requestPut: { key: b("b"), value: b("x") } }, { requestRange: { key: b("a") } }],
      failure: [{ requestRange: { key: b("a") } }],
    });
    assert.equal(t.succeeded, true);
    assert.equal(t.header.revision, rev1 + 2);
    assert.equal(t.responses[0]!.responsePut?.revision, rev1 + 2);

    const failed = await s.txn({
      compare: [{ key: b("a"), target: "VALUE", result: "EQUAL", value: b("nope") }],
      success: [{ requestPut: { key: b("c"), value: b("y") } }],
      failure: [{ requestRange: { key: b("b") } }],
    });
    assert.equal(failed.succeeded, false);
    assert.equal(failed.header.revision, rev1 + 2, "a txn that writes nothing does not bump the revision");
    assert.equal(text(failed.responses[0]!.responseRange?.kvs[0]?.value), "x");

    const d = await s.deleteRange({ key: b("a"), rangeEnd: b("c"), prevKv: true });
    assert.equal(d.deleted, 2);
    assert.equal(d.prevKvs.length, 2);
    assert.equal(d.header.revision, rev1 + 3);
    assert.equal((await s.range({ key: b("a"), rangeEnd: b("c") })).count, 0);
  });

  test("a read-only txn is served without a log entry", async () => {
    const before = (await s.status()).raftIndex;
    const rounds = s.readIndexRounds;
    const t = await s.txn({ success: [{ requestRange: { key: b("zz") } }] });
    assert.equal(t.succeeded, true);
    assert.equal((await s.status()).raftIndex, before);
    assert.equal(s.readIndexRounds, rounds + 1);
  });

  test("concurrent linearizable reads share one ReadIndex round; serializable reads use none", async () => {
    await s.put({ key: b("lin"), value: b("v") });
    const rounds = s.readIndexRounds;
    const results = await Promise.all(Array.from({ length: 50 }, () => s.range({ key: b("lin") })));
    assert.equal(s.readIndexRounds, rounds + 1);
    for (const r of results) assert.equal(text(r.kvs[0]!.value), "v");
    await s.range({ key: b("lin"), serializable: true });
    assert.equal(s.readIndexRounds, rounds + 1);
  });

  test("a linearizable read sees every write acknowledged before it", async () => {
    for (let i = 0; i < 20; i++) {
      await s.put({ key: b("seq"), value: b(String(i)) });
      const r = await s.range({ key: b("seq") });
      assert.equal(text(r.kvs[0]!.value), String(i));
    }
  });

  test("errors carry etcd's codes and messages", async () => {
    await assert.rejects(s.put({ key: b(""), value: b("x") }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, "EmptyKey");
      assert.equal(err.message, "etcdserver: key is not provided");
      assert.equal(err.grpcCode, 3);
      return true;
    });
    await assert.rejects(s.range({ key: b("a"), revision: 1_000_000 }), {
      message: "etcdserver: mvcc: required revision is a future revision",
    });
    await assert.rejects(s.put({ key: b("k"), value: b("v"), lease: 12345n }), {
      message: "etcdserver: requested lease not found",
    });
    const rev = s.header().revision;
    await s.compact({ revision: rev });
    await assert.rejects(s.range({ key: b("a"), revision: rev - 1 }), {
      message: "etcdserver: mvcc: required revision has been compacted",
    });
  });

  test("a request over --max-request-bytes is refused before it reaches the log", async () => {
    const before = (await s.status()).raftIndex;
    const big = Buffer.alloc(1.5 * 1024 * 1024, 1);
    await assert.rejects(s.put({ key: b("big"), value: big }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.message, "etcdserver: request is too large");
      assert.equal(err.grpcCode, 3);
      return true;
    });
    assert.equal((await s.status()).raftIndex, before);
    await s.put({ key: b("almost"), value: Buffer.alloc(1024 * 1024, 1) });
  });

  test("watchers get events, history replays, and progress requests report the revision", async () => {
    const start = (await s.put({ key: b("w/1"), value: b("a") })).header.revision;
    const got: WatchResponse[] = [];
    const h = s.watch({ key: b("w/"), rangeEnd: b("w0"), startRevision: start }, (r) => {
      got.push(r);
      return true;
    });
    await s.put({ key: b("w/2"), value: b("b") });
    await s.deleteRange({ key: b("w/1") });
    await waitFor(() => got.flatMap((r) => r.events).length === 3, 5000, "watch events");
    const events = got.flatMap((r) => r.events);
    assert.deepEqual(
      events.map((e) => [e.type, text(e.kv.key)]),
      [
        ["PUT", "w/1"],
        ["PUT", "w/2"],
        ["DELETE", "w/1"],
      ],
    );
    assert.ok(got.every((r) => r.watchId === h.id));
    h.requestProgress();
    await waitFor(() => got.some((r) => r.events.length === 0), 5000, "progress notification");
    assert.equal(got.find((r) => r.events.length === 0)!.revision, s.header().revision);
    assert.equal(s.watchProgress([h.id]), s.header().revision);
    h.cancel();
    await s.put({ key: b("w/3"), value: b("c") });
    assert.equal(got.flatMap((r) => r.events).length, 3);
  });

  test("hashKV and the snapshot stream describe the state", async () => {
    const h1 = await s.hashKV(0);
    const h2 = await s.hashKV(0);
    assert.equal(h1.hash, h2.hash);
    await s.put({ key: b("hash"), value: b("changes") });
    assert.notEqual((await s.hashKV(0)).hash, h1.hash);
    const snap = await s.snapshot();
    let total = 0;
    for await (const chunk of snap.chunks) total += chunk.byteLength;
    assert.equal(total, snap.size);
    assert.ok(snap.size > 0);
  });
});

describe("StoreServer leases", () => {
  const dir = tempDir();
  const clock = new ManualClock();
  let s: StoreServer;
  before(async () => {
    s = await StoreServer.open({ dataDir: dir.path, now: clock.now, log: quietLog() });
  });
  after(async () => {
    await s.close();
    dir.remove();
  });

  test("grant, attach, keep alive, time to live, list and revoke", async () => {
    const g = await s.leaseGrant({ ttl: 10 });
    assert.ok(g.id > 0n);
    assert.equal(g.ttl, 10);
    await s.put({ key: b("l/1"), value: b("x"), lease: g.id });
    const ttl = await s.leaseTimeToLive(g.id, true);
    assert.equal(ttl.grantedTtl, 10);
    assert.ok(ttl.ttl > 0 && ttl.ttl <= 10);
    assert.deepEqual(ttl.keys.map(text), ["l/1"]);
    assert.deepEqual((await s.leaseLeases()).leases, [g.id]);
    clock.advance(5_000);
    assert.equal((await s.leaseKeepAlive(g.id)).ttl, 10);
    const rev = await s.leaseRevoke(g.id);
    assert.equal((await s.range({ key: b("l/1") })).count, 0);
    assert.ok(rev.header.revision > 0);
    assert.equal((await s.leaseTimeToLive(g.id, false)).ttl, -1);
    await assert.rejects(s.leaseKeepAlive(g.id), { message: "etcdserver: requested lease not found" });
    await assert.rejects(s.leaseRevoke(g.id), { message: "etcdserver: requested lease not found" });
  });

  test("an expired lease is revoked through the log and its keys are deleted", async () => {
    const g = await s.leaseGrant({ ttl: 3, id: 777n });
    assert.equal(g.id, 777n);
    await s.put({ key: b("exp/1"), value: b("x"), lease: g.id });
    await s.put({ key: b("exp/2"), value: b("y"), lease: g.id });
    const indexBefore = (await s.status()).raftIndex;
    clock.advance(2_000);
    await s.leaseKeepAlive(g.id);
    clock.advance(2_500);
    assert.equal(
      (await s.range({ key: b("exp/"), rangeEnd: b("exp0") })).count,
      2,
      "renewed, not expired yet",
    );
    clock.advance(1_000);
    await waitFor(
      async () => (await s.range({ key: b("exp/"), rangeEnd: b("exp0") })).count === 0,
      5000,
      "expiry",
    );
    assert.ok((await s.status()).raftIndex > indexBefore, "the revoke went through the log");
    assert.deepEqual((await s.leaseLeases()).leases, []);
  });

  test("a duplicate lease id is refused", async () => {
    await s.leaseGrant({ ttl: 30, id: 4242n });
    await assert.rejects(s.leaseGrant({ ttl: 30, id: 4242n }), {
      message: "etcdserver: lease already exists",
    });
  });
});

describe("StoreServer quota", () => {
  const dir = tempDir();
  let s: StoreServer;
  before(async () => {
    s = await StoreServer.open({ dataDir: dir.path, quotaBackendBytes: 64 * 1024, log: quietLog() });
  });
  after(async () => {
    await s.close();
    dir.remove();
  });

  test("exceeding the quota raises NOSPACE; writes fail, deletes work until it is disarmed", async () => {
    const value = Buffer.alloc(4000, 7);
    let written = 0;
    let failure: unknown;
    for (let i = 0; i < 100 && failure === undefined; i++) {
      try {
        await s.put({ key: b(`q/${i}`), value });
        written++;
      } catch (err) {
        failure = err;
      }
    }
    assert.ok(written > 5);
    assert.ok(failure instanceof StoreError);
    assert.equal(failure.message, "etcdserver: mvcc: database space exceeded");
    assert.equal(failure.grpcCode, 8);
    await waitFor(async () => (await s.alarmList()).alarms.length === 1, 5000, "NOSPACE alarm");
    const alarms = await s.alarmList();
    assert.deepEqual(alarms.alarms, [{ memberId: s.memberId, alarm: "NOSPACE" }]);
    assert.deepEqual((await s.status()).errors, [`memberID:${s.memberId} alarm:NOSPACE `]);

    // Still refused after freeing space, while the alarm stands (etcd's capped applier).
    await s.deleteRange({ key: b("q/"), rangeEnd: b("q0") });
    await s.compact({ revision: s.header().revision });
    await assert.rejects(s.put({ key: b("small"), value: b("x") }), {
      message: "etcdserver: mvcc: database space exceeded",
    });
    await assert.rejects(s.leaseGrant({ ttl: 10 }), { message: "etcdserver: mvcc: database space exceeded" });
    await assert.rejects(s.txn({ success: [{ requestPut: { key: b("t"), value: b("x") } }] }), {
      message: "etcdserver: mvcc: database space exceeded",
    });
    await s.txn({ success: [{ requestDeleteRange: { key: b("t") } }] });

    await s.defragment();
    const disarmed = await s.alarmDeactivate({ memberId: s.memberId, alarm: "NOSPACE" });
    assert.deepEqual(disarmed.alarms, [{ memberId: s.memberId, alarm: "NOSPACE" }]);
    assert.deepEqual((await s.alarmList()).alarms, []);
    await s.put({ key: b("small"), value: b("x") });
  });
});
