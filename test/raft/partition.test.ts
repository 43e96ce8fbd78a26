import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Message, MessageType, StateType } from "../../src/raft/index.js";
import { enc, Network } from "./network.js";

const only =
  (...groups: number[][]) =>
  (m: Message): boolean =>
    groups.some((g) => g.includes(m.from) && g.includes(m.to));

/**
 * Figure 8 of the Raft paper, steps (a)-(c): S1 leads term 1 and replicates "old" at index 2
 * to S2 only; S5 wins term 2 with S3 and S4 and appends its own index 2 nobody else gets;
 * S1 wins term 3 and copies "old" to S3 as well, so it sits on a majority (S1, S2, S3).
 * maxSizePerMsg 1 sends one entry per MsgApp, so index 2 can travel without index 3.
 */
function figure8UpToC(): Network {
  const net = new Network([1, 2, 3, 4, 5], { maxSizePerMsg: 1 });
  net.elect(1);
  // (a)
  net.filter = only([1, 2]);
  net.node(1).propose(enc("old"));
  net.stabilize();
  assert.deepEqual(net.logTerms(2), [1, 1]);
  // (b)
  net.filter = (m) => only([3, 4, 5])(m) && !(m.from === 5 && m.type === MessageType.App);
  net.elect(5);
  assert.equal(net.state(5), StateType.Leader);
  assert.equal(net.term(5), 2);
  assert.deepEqual(net.logTerms(5), [1, 2]);
  // S5 is cut off (it "crashes") for step (c).
  // (c): S1 restarts and needs two campaigns (S3 already voted in term 2).
  net.restart(1);
  // S3 may receive the probe that reveals it lacks index 2, but not index 3 once it has 2.
  const s3 = net.get(3).storage;
  const carriesIndex3 = (m: Message) => m.entries.some((e) => e.index >= 3);
  net.filter = (m) => only([1, 2, 3])(m) && !(m.to === 3 && carriesIndex3(m) && s3.lastIndex() >= 2);
  net.elect(1);
  if (net.state(1) !== StateType.Leader) net.elect(1);
  assert.equal(net.state(1), StateType.Leader);
  assert.equal(net.term(1), 3);
  assert.deepEqual(net.logTerms(1), [1, 1, 3]);
  assert.deepEqual(net.logTerms(3), [1, 1], "S3 has the term-1 entry at index 2");
  return net;
}

describe("Raft paper, figure 8", () => {
  test("a leader does not commit an entry of an earlier term by counting replicas", () => {
    const net = figure8UpToC();
    // Index 2 is on S1, S2 and S3 (a majority of 5), but it is from term 1, not term 3.
    assert.equal(net.commit(1), 1);
    assert.equal(net.node(1).status().progress!.get(3)!.match, 2);
    // (d) Were S1 to crash now, S5 can be elected (its last term 2 beats S3's and S4's 1)
    // and overwrite index 2 everywhere: committing it at (c) would have lost a committed entry.
    net.restart(5);
    net.filter = only([2, 3, 4, 5]);
    net.elect(5);
    if (net.state(5) !== StateType.Leader) net.elect(5);
    assert.equal(net.state(5), StateType.Leader);
    net.stabilize();
    for (const id of [2, 3, 4, 5]) {
      assert.deepEqual(net.logTerms(id).slice(0, 2), [1, 2], `S${id}'s index 2 now holds S5's entry`);
      assert.ok(!net.get(id).applied.includes("old"));
    }
  });

  test("(e) once an entry of the leader's own term is on a majority, both commit and S5 cannot win", () => {
    const net = figure8UpToC();
    net.filter = only([1, 2, 3]);
    net.tick(1, 1);
    assert.equal(net.commit(1), 3);
    assert.deepEqual(net.get(1).applied, ["old"]);
    net.restart(5);
    net.filter = only([2, 3, 4, 5]);
    net.delivered = [];
    for (let i = 0; i < 3; i++) net.elect(5);
    assert.notEqual(net.state(5), StateType.Leader);
    const granted = net.delivered.filter((m) => m.type === MessageType.VoteResp && m.to === 5 && !m.reject);
    assert.ok(
      granted.every((m) => m.from === 4),
      "only S4 (whose log is older) may vote for S5",
    );
  });
});

describe("leader cut off in a minority (5 nodes)", () => {
  test("the old leader's uncommitted entries are rolled back and every node converges", () => {
    const net = new Network([1, 2, 3, 4, 5]);
    net.elect(1);
    net.node(1).propose(enc("committed-before"));
    net.stabilize();
    assert.equal(net.commit(5), 2);

    // The leader and one follower end up in the minority.
    net.partition([1, 2], [3, 4, 5]);
    for (const v of ["minority-1", "minority-2", "minority-3"]) net.node(1).propose(enc(v));
    net.tickAll(5);
    assert.equal(net.state(1), StateType.Leader, "without CheckQuorum it keeps leading");
    assert.deepEqual(net.logTerms(2), [1, 1, 1, 1, 1], "replicated to its follower");
    assert.equal(net.commit(1), 2, "but never committed");

    // The majority elects a new leader at a higher term and commits other entries.
    net.elect(3);
    assert.equal(net.state(3), StateType.Leader);
    assert.equal(net.term(3), 2);
    for (const v of ["majority-1", "majority-2"]) net.node(3).propose(enc(v));
    net.stabilize();
    assert.equal(net.commit(3), 5);

    // The partition heals: the old leader hears the new term and steps down.
    net.heal();
    net.tickAll(3);
    assert.equal(net.state(1), StateType.Follower);
    assert.deepEqual(net.leaders(), [3]);
    for (const id of [1, 2, 3, 4, 5]) {
      assert.equal(net.term(id), 2);
      assert.deepEqual(net.logTerms(id), [1, 1, 2, 2, 2]);
      assert.deepEqual(net.logData(id, 2), ["committed-before", "", "majority-1", "majority-2"]);
      assert.deepEqual(net.get(id).applied, ["committed-before", "majority-1", "majority-2"]);
      assert.equal(net.commit(id), 5);
    }
  });

  test("with CheckQuorum the cut-off leader steps down by itself and refuses proposals", () => {
    const net = new Network([1, 2, 3, 4, 5], { checkQuorum: true, preVote: true });
    net.elect(1);
    net.partition([1, 2], [3, 4, 5]);
    net.node(1).propose(enc("doomed"));
    for (let i = 0; i < 20 && net.state(1) === StateType.Leader; i++) net.tickAll(1);
    assert.equal(net.state(1), StateType.Follower);
    assert.throws(() => net.node(1).propose(enc("x")), /no leader/);
    net.tickAll(30);
    const [leader] = net.leaders();
    assert.ok([3, 4, 5].includes(leader));
    net.heal();
    net.tickAll(5);
    for (const id of [1, 2, 3, 4, 5]) {
      assert.equal(net.node(id).status().softState.lead, leader);
      assert.ok(!net.logData(id).includes("doomed"));
    }
  });
});
