// Three-member clusters of in-process StoreServers talking over real peer transports on
// loopback: replication, follower writes and linearizable follower reads, forwarded lease
// keep-alives, a minority partition and its healing, and leadership transfer.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { isStoreError, type StoreServer } from "../../src/store/index.js";
import { waitFor } from "../support/require.js";
import { ClusterHarness, dec, enc } from "./cluster-support.js";

function followers(h: ClusterHarness, leader: StoreServer): StoreServer[] {
  return h.running().filter((s) => s !== leader);
}

describe("a three-member cluster", () => {
  const h = new ClusterHarness();
  after(() => h.close());

  test("elects one leader, replicates, and publishes every member's client URLs", async () => {
    const servers = await h.start(3);
    const leader = await h.leader();
    const put = await leader.put({ key: enc("a"), value: enc("1") });
    for (const s of servers) {
      await waitFor(
        async () => dec((await s.range({ key: enc("a"), serializable: true })).kvs[0]?.value) === "1",
        5000,
        "the write to reach every member",
      );
      assert.equal(s.header().clusterId, leader.header().clusterId);
    }
    assert.equal(put.header.memberId, leader.memberId);
    await waitFor(
      async () =>
        (await servers[0]!.memberList()).members.every((m) => m.name !== "" && m.clientURLs.length === 1),
      5000,
      "all members to publish their attributes",
    );
    const { members } = await servers[0]!.memberList();
    assert.deepEqual(members.map((m) => m.name).sort(), ["n1", "n2", "n3"]);
    for (const spec of h.specs) {
      const m = members.find((x) => x.name === spec.name)!;
      assert.deepEqual(m.peerURLs, [spec.peerUrl]);
      assert.deepEqual(m.clientURLs, [spec.clientUrl]);
    }
  });

  test("a write to a follower is forwarded to the leader and acknowledged once applied there", async () => {
    const leader = await h.leader();
    const [f1, f2] = followers(h, leader);
    const put = await f1!.put({ key: enc("via-follower"), value: enc("x") });
    assert.equal(put.header.memberId, f1!.memberId);
    // Acknowledged means applied on the proposing follower: a serializable read there sees it.
    const local = await f1!.range({ key: enc("via-follower"), serializable: true });
    assert.equal(dec(local.kvs[0]?.value), "x");
    assert.equal(local.kvs[0]!.modRevision, put.header.revision);
    const onOther = await f2!.range({ key: enc("via-follower") });
    assert.equal(dec(onOther.kvs[0]?.value), "x");
  });

  test("a linearizable read on a follower sees a write the leader just acknowledged", async () => {
    const leader = await h.leader();
    const [f1, f2] = followers(h, leader);
    for (let i = 0; i < 20; i++) {
      const put = await leader.put({ key: enc("lin"), value: enc(`v${i}`) });
      const follower = i % 2 === 0 ? f1! : f2!;
      const r = await follower.range({ key: enc("lin") });
      assert.equal(dec(r.kvs[0]?.value), `v${i}`);
      assert.ok(r.header.revision >= put.header.revision);
    }
  });

  test("leases granted anywhere; keep-alive and time-to-live on a follower are forwarded to the leader", async () => {
    const leader = await h.leader();
    const [f1] = followers(h, leader);
    const grant = await f1!.leaseGrant({ ttl: 30 });
    await f1!.put({ key: enc("leased"), value: enc("1"), lease: grant.id });
    const ka = await f1!.leaseKeepAlive(grant.id);
    assert.equal(ka.ttl, 30);
    const ttl = await f1!.leaseTimeToLive(grant.id, true);
    assert.equal(ttl.grantedTtl, 30);
    assert.ok(ttl.ttl > 0 && ttl.ttl <= 30);
    assert.deepEqual(ttl.keys.map(dec), ["leased"]);
    await assert.rejects(f1!.leaseKeepAlive(123456789n), (e) => isStoreError(e, "LeaseNotFound"));
    await f1!.leaseRevoke(grant.id);
    const gone = await leader.range({ key: enc("leased") });
    assert.equal(gone.count, 0);
  });

  test("a follower restarted from its data dir catches up on what it missed", async () => {
    const leader = await h.leader();
    const spec = h.specs.find((x) => h.servers.get(x.name) !== leader)!;
    await h.stop(spec.name);
    for (let i = 0; i < 10; i++) await leader.put({ key: enc(`missed/${i}`), value: enc("1") });
    const back = await h.open(spec);
    const r = await back.range({ key: enc("missed/"), rangeEnd: enc("missed0") });
    assert.equal(r.count, 10);
    assert.equal((await back.status()).leader, (await h.leader()).memberId);
  });

  test("strict reconfiguration refuses changes the reachable voters could not carry", async () => {
    const leader = await h.leader();
    const [f1, f2] = followers(h, leader);
    leader.applyFaultSpec(`cut:${f1!.memberId}`);
    try {
      await assert.rejects(leader.memberRemove(f2!.memberId), (e) => isStoreError(e, "Unhealthy"));
      await assert.rejects(leader.memberAdd(["http://127.0.0.1:1"], false), (e) =>
        isStoreError(e, "Unhealthy"),
      );
    } finally {
      leader.applyFaultSpec("heal");
    }
  });

  test("move-leader hands leadership to a chosen voter; only the leader accepts it", async () => {
    const leader = await h.leader();
    const [target, other] = followers(h, leader);
    await assert.rejects(other!.moveLeader(target!.memberId), (e) => isStoreError(e, "NotLeader"));
    await assert.rejects(leader.moveLeader(424242n), (e) => isStoreError(e, "BadLeaderTransferee"));
    await leader.moveLeader(target!.memberId);
    assert.equal((await target!.status()).leader, target!.memberId);
    const after = await h.leader();
    assert.equal(after, target);
    await other!.put({ key: enc("after-move"), value: enc("ok") });
  });
});

describe("a minority partition", () => {
  const h = new ClusterHarness();
  after(() => h.close());

  test("cannot commit; the majority carries on; after healing the stale leader's entry is rolled back", async () => {
    await h.start(3, { requestTimeoutMs: 1500 });
    const old = await h.leader();
    const [a, b] = followers(h, old);
    await old.put({ key: enc("before"), value: enc("1") });
    const ids = (await old.memberList()).members;
    const idOf = (s: StoreServer) => ids.find((m) => m.id === s.memberId)!.id;
    // Cut the leader off in both directions (each side drops the other's traffic).
    old.applyFaultSpec(`cut:${idOf(a!)},${idOf(b!)}`);
    a!.applyFaultSpec(`cut:${idOf(old)}`);
    b!.applyFaultSpec(`cut:${idOf(old)}`);

    const lost = old.put({ key: enc("minority"), value: enc("lost") });
    await assert.rejects(lost, (e) => isStoreError(e) && ["Timeout", "NoLeader"].includes(e.code));
    // The stale leader did append the entry; it just never committed.
    const stale = old.logState().lastIndex;
    assert.ok(stale > (await old.status()).raftIndex, "the minority write should sit uncommitted in the log");

    const newLeader = await h.leader([a!, b!]);
    assert.notEqual(newLeader, old);
    await newLeader.put({ key: enc("majority"), value: enc("kept") });
    await assert.rejects(old.range({ key: enc("majority") }), (e) => isStoreError(e));

    for (const s of h.running()) s.applyFaultSpec("heal");
    await h.leader();
    await waitFor(
      async () => (await old.range({ key: enc("majority"), serializable: true })).count === 1,
      5000,
      "the healed member to catch up",
    );
    assert.equal((await old.status()).leader, newLeader.memberId);
    for (const s of h.running()) {
      assert.equal((await s.range({ key: enc("minority") })).count, 0);
    }
    for (const s of h.running()) await s.range({ key: enc("majority") });
    const hashes = await Promise.all(h.running().map(async (s) => (await s.hashKV(0)).hash));
    assert.equal(new Set(hashes).size, 1, `members diverged: ${hashes}`);
  });
});
