import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MessageType, ProposalDroppedError, StateType } from "../../src/raft/index.js";
import { enc, Network, storageWithLog } from "./network.js";

describe("log replication", () => {
  test("proposals on the leader are replicated, committed and applied everywhere in order", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (const v of ["a", "b", "c"]) net.node(1).propose(enc(v));
    net.stabilize();
    for (const id of [1, 2, 3]) {
      assert.deepEqual(net.logTerms(id), [1, 1, 1, 1]);
      assert.equal(net.commit(id), 4);
      assert.deepEqual(net.get(id).applied, ["a", "b", "c"]);
    }
  });

  test("a follower forwards proposals to the leader", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(3).propose(enc("via-3"));
    net.processReady(3);
    const fwd = net.queue.filter((m) => m.type === MessageType.Prop);
    assert.deepEqual(
      fwd.map((m) => [m.from, m.to, m.term]),
      [[3, 1, 0]],
    );
    net.stabilize();
    for (const id of [1, 2, 3]) assert.deepEqual(net.get(id).applied, ["via-3"]);
  });

  test("with disableProposalForwarding a follower refuses proposals, naming the leader", () => {
    const net = new Network([1, 2, 3], { disableProposalForwarding: true });
    net.elect(1);
    assert.throws(
      () => net.node(2).propose(enc("x")),
      (err: unknown) =>
        err instanceof ProposalDroppedError &&
        err.message ===
          "raft: proposal dropped: not leader and proposal forwarding is disabled (leader is 1)",
    );
    assert.equal(net.node(2).hasReady(), false, "nothing was queued");
  });

  test("without a leader a proposal is refused", () => {
    const net = new Network([1, 2, 3]);
    assert.throws(() => net.node(1).propose(enc("x")), /raft: proposal dropped: no leader/);
    net.node(1).campaign();
    assert.equal(net.state(1), StateType.Candidate);
    assert.throws(() => net.node(1).propose(enc("x")), /raft: proposal dropped: no leader/);
  });

  test("proposals beyond maxUncommittedEntriesSize are dropped until entries commit", () => {
    const net = new Network([1, 2, 3], { maxUncommittedEntriesSize: 10 });
    net.elect(1);
    net.isolate(1);
    net.node(1).propose(new Uint8Array(6));
    net.node(1).propose(new Uint8Array(4));
    assert.throws(() => net.node(1).propose(new Uint8Array(1)), /uncommitted entries exceed the limit/);
    net.heal();
    net.tickAll(2);
    assert.equal(net.commit(1), 3);
    net.node(1).propose(new Uint8Array(8));
    net.stabilize();
    assert.equal(net.commit(2), 4);
  });

  test("a follower rejects a MsgApp whose previous entry it lacks, and the hint skips whole terms", () => {
    // Leader log terms [1,1,1,4,4,5,5,6,6,6]; the follower diverged at index 4 with terms 2 and 3.
    const net = new Network([]);
    net.add(1, storageWithLog([1, 2, 3], [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 7));
    net.add(2, storageWithLog([1, 2, 3], [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], 3));
    net.add(3, storageWithLog([1, 2, 3], [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 6));
    net.elect(1);
    assert.equal(net.state(1), StateType.Leader);
    const rejections = net.delivered.filter(
      (m) => m.type === MessageType.AppResp && m.from === 2 && m.reject,
    );
    assert.equal(rejections.length, 1, "one round trip finds the match point (one per entry would take 7)");
    assert.equal(rejections[0].index, 10);
    assert.equal(rejections[0].rejectHint, 10);
    assert.equal(rejections[0].logTerm, 3);
    // The next probe starts right after the last index where the leader's term is <= 3.
    // Then an empty MsgApp tells it the new commit index.
    const apps = net.delivered.filter((m) => m.type === MessageType.App && m.to === 2);
    assert.deepEqual(
      apps.map((m) => [m.index, m.logTerm, m.entries.length, m.commit]),
      [
        [10, 6, 1, 0],
        [3, 1, 8, 0],
        [11, 8, 0, 11],
      ],
    );
    for (const id of [1, 2, 3]) {
      assert.deepEqual(net.logTerms(id), [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8]);
      assert.equal(net.commit(id), 11);
    }
  });

  test("a follower with a shorter log is found in one round trip", () => {
    const net = new Network([]);
    net.add(1, storageWithLog([1, 2], [1, 1, 1, 1, 1, 1, 1, 1], 1));
    net.add(2, storageWithLog([1, 2], [1, 1], 1));
    net.elect(1);
    const rejections = net.delivered.filter((m) => m.type === MessageType.AppResp && m.reject);
    assert.deepEqual(
      rejections.map((m) => [m.index, m.rejectHint, m.logTerm]),
      [[8, 2, 1]],
    );
    assert.deepEqual(net.logTerms(2), [1, 1, 1, 1, 1, 1, 1, 1, 2]);
  });

  test("followers truncate a conflicting uncommitted suffix", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.node(1).propose(enc("lost-1"));
    net.node(1).propose(enc("lost-2"));
    net.stabilize();
    assert.deepEqual(net.logTerms(1), [1, 1, 1]);
    net.elect(2);
    assert.equal(net.state(2), StateType.Leader);
    net.node(2).propose(enc("kept"));
    net.stabilize();
    net.heal();
    net.tickAll(3);
    for (const id of [1, 2, 3]) {
      assert.deepEqual(net.logTerms(id), [1, 2, 2]);
      assert.deepEqual(net.logData(id, 3), ["kept"]);
      assert.deepEqual(net.get(id).applied, ["kept"]);
    }
  });
});

describe("Raft paper, figure 7", () => {
  test("a new leader at term 8 brings followers a-f in line with its log", () => {
    // Index:             1  2  3  4  5  6  7  8  9 10 11 12
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<number, number[]> = {
      2: [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing one entry
      3: [1, 1, 1, 4], // (b) missing many entries
      4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) one extra uncommitted entry
      5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
      6: [1, 1, 1, 4, 4, 4, 4], // (e) missing entries and extra term-4 entries
      7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) entries of terms 2 and 3 nobody else has
    };
    const ids = [1, 2, 3, 4, 5, 6, 7];
    const net = new Network([]);
    net.add(1, storageWithLog(ids, leaderLog, 7));
    for (const [id, log] of Object.entries(followers)) net.add(Number(id), storageWithLog(ids, log, 7));
    net.elect(1);
    assert.equal(net.state(1), StateType.Leader);
    assert.equal(net.term(1), 8);
    // (c) and (d) have more up-to-date logs and refused their votes; a, b, e, f elected the leader.
    const votes = net.delivered.filter((m) => m.type === MessageType.VoteResp);
    assert.deepEqual(
      votes.filter((m) => m.reject).map((m) => m.from),
      [4, 5],
    );
    const want = [...leaderLog, 8];
    for (const id of ids) {
      assert.deepEqual(net.logTerms(id), want, `follower ${id}`);
      assert.equal(net.commit(id), 11);
    }
    // Fast back-tracking: no follower needed more than one rejected probe.
    for (const id of ids.slice(1)) {
      const rejects = net.delivered.filter(
        (m) => m.type === MessageType.AppResp && m.from === id && m.reject,
      );
      assert.ok(rejects.length <= 1, `follower ${id} rejected ${rejects.length} probes`);
    }
  });
});
