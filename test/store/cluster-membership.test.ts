// Membership changes at run time on in-process members with real peer transports: a learner
// joins with --initial-cluster-state existing and catches up by snapshot transfer after the
// leader compacted its log, is promoted once in sync; a member is removed (and stops), then
// comes back with an empty data dir as a new member under a new id; etcd's error texts.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, test } from "node:test";
import { isStoreError, STORE_ERRORS, type StoreServer } from "../../src/store/index.js";
import { waitFor } from "../support/require.js";
import { ClusterHarness, enc, type MemberSpec } from "./cluster-support.js";

const SNAPSHOTS = { snapshotCount: 20, snapshotCatchUpEntries: 5 };

async function countOn(s: StoreServer, prefix: string): Promise<number> {
  return (
    await s.range({ key: enc(prefix), rangeEnd: enc(`${prefix}\xff`), serializable: true, countOnly: true })
  ).count;
}

async function join(h: ClusterHarness, spec: MemberSpec, leaderUrlSpecs: MemberSpec[]): Promise<StoreServer> {
  return h.open(spec, {
    ...SNAPSHOTS,
    initialClusterState: "existing",
    initialCluster: h.initialCluster([...leaderUrlSpecs, spec]),
  });
}

describe("membership changes", () => {
  const h = new ClusterHarness();
  after(() => h.close());

  test("a learner joins, catches up by snapshot after compaction, and is promoted once in sync", async () => {
    const [n1, n2, n3] = await h.start(3, SNAPSHOTS);
    const leader = await h.leader();
    for (let i = 0; i < 60; i++) await n2!.put({ key: enc(`k/${i}`), value: enc(`v${i}`) });
    await waitFor(() => leader.logState().firstIndex > 2, 5000, "the leader to compact its log");

    const spec = await h.spec("n4");
    // Added through a follower: the ConfChange is forwarded to the leader like any proposal.
    const added = await n3!.memberAdd([spec.peerUrl], true);
    assert.equal(added.member.isLearner, true);
    assert.equal(added.member.name, "");
    assert.equal(added.members.length, 4);
    await assert.rejects(n1!.memberPromote(added.member.id), (e) => isStoreError(e, "LearnerNotReady"));
    assert.equal(
      STORE_ERRORS.LearnerNotReady.message,
      "etcdserver: can only promote a learner member which is in sync with leader",
    );
    await assert.rejects(n1!.memberAdd([spec.peerUrl], false), (e) => isStoreError(e, "PeerURLExist"));
    const other = await h.spec("n5");
    await assert.rejects(n1!.memberAdd([other.peerUrl], true), (e) => isStoreError(e, "TooManyLearners"));
    h.specs.pop();

    const learner = await join(h, spec, h.specs.slice(0, 3));
    assert.equal(learner.memberId, added.member.id);
    await waitFor(async () => (await countOn(learner, "k/")) === 60, 10_000, "the learner to catch up");
    assert.ok(
      learner.logState().snapshotIndex > 1,
      "the learner should have installed the leader's snapshot",
    );
    const st = await learner.status();
    assert.equal(st.isLearner, true);
    assert.equal(st.header.clusterId, leader.header().clusterId);

    // A follower forwards the promotion to the leader, which checks the learner's progress.
    await waitFor(
      async () => {
        try {
          await n2!.memberPromote(added.member.id);
          return true;
        } catch (e) {
          if (isStoreError(e, "LearnerNotReady")) return false;
          throw e;
        }
      },
      10_000,
      "the promotion to go through",
    );
    await assert.rejects(n1!.memberPromote(added.member.id), (e) => isStoreError(e, "MemberNotLearner"));
    await waitFor(
      async () => !(await learner.status()).isLearner,
      5000,
      "the new voter to see itself promoted",
    );
    await learner.put({ key: enc("from-n4"), value: enc("1") });
    assert.equal((await n1!.range({ key: enc("from-n4") })).count, 1);
    await waitFor(
      async () => (await n1!.memberList()).members.find((m) => m.id === added.member.id)?.name === "n4",
      5000,
      "n4 to publish its name",
    );
  });

  test("a removed member stops; re-added with an empty data dir it rejoins under a new id", async () => {
    const leader = await h.leader();
    const victim = h.running().find((s) => s !== leader)!;
    const victimSpec = h.specs.find((s) => h.servers.get(s.name) === victim)!;
    const fatal = new Promise<unknown>((resolve) => {
      victim.onFatal = resolve;
    });
    const oldId = victim.memberId;
    const left = await leader.memberRemove(oldId);
    assert.equal(left.members.length, 3);
    assert.ok(isStoreError(await fatal, "MemberRemoved"));
    await h.stop(victimSpec.name);
    await assert.rejects(leader.memberRemove(oldId), (e) => isStoreError(e, "MemberNotFound"));
    await leader.put({ key: enc("after-remove"), value: enc("1") });

    rmSync(victimSpec.dataDir, { recursive: true, force: true });
    const readded = await leader.memberAdd([victimSpec.peerUrl], false);
    assert.notEqual(readded.member.id, oldId);
    const others = h.specs.filter((s) => s !== victimSpec && h.servers.has(s.name));
    const back = await join(h, victimSpec, others);
    assert.equal(back.memberId, readded.member.id);
    await waitFor(
      async () => (await countOn(back, "after-remove")) === 1,
      10_000,
      "the new member to catch up",
    );
    const lead = await h.leader();
    assert.equal((await back.status()).leader, lead.memberId);
    const hashes = await Promise.all(
      h.running().map(async (s) => {
        await s.range({ key: enc("after-remove") });
        return (await s.hashKV(0)).hash;
      }),
    );
    assert.equal(new Set(hashes).size, 1);
  });

  test("member update re-points a member's peer URLs; unknown members are not found", async () => {
    const leader = await h.leader();
    const { members } = await leader.memberList();
    const learnerless = members.find((m) => m.id !== leader.memberId)!;
    await assert.rejects(leader.memberUpdate(99n, ["http://127.0.0.1:1"]), (e) =>
      isStoreError(e, "MemberNotFound"),
    );
    await assert.rejects(
      leader.memberUpdate(learnerless.id, [members.find((m) => m.id === leader.memberId)!.peerURLs[0]!]),
      (e) => isStoreError(e, "PeerURLExist"),
    );
    await assert.rejects(leader.memberAdd(["ftp://x"], false), (e) => isStoreError(e, "MemberBadURLs"));
    // Same URL: a no-op update that still goes through the log.
    const res = await leader.memberUpdate(learnerless.id, learnerless.peerURLs);
    assert.deepEqual(res.members.find((m) => m.id === learnerless.id)?.peerURLs, learnerless.peerURLs);
  });
});
