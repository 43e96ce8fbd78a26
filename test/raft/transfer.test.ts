import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MessageType, NONE, ProposalDroppedError, StateType } from "../../src/raft/index.js";
import { enc, Network } from "./network.js";

describe("leadership transfer", () => {
  test("an up-to-date transferee gets MsgTimeoutNow and wins at once, despite the leader lease", () => {
    const net = new Network([1, 2, 3], { checkQuorum: true, preVote: true });
    net.elect(1);
    net.node(1).transferLeader(2);
    net.stabilize();
    assert.equal(
      net.countDelivered((m) => m.type === MessageType.TimeoutNow && m.to === 2),
      1,
    );
    assert.deepEqual(net.leaders(), [2]);
    for (const id of [1, 2, 3]) {
      assert.equal(net.term(id), 2);
      assert.equal(net.node(id).status().softState.lead, 2);
    }
    assert.equal(
      net.countDelivered((m) => m.type === MessageType.PreVote && m.from === 2),
      0,
      "no pre-vote",
    );
  });

  test("a transfer requested on a follower is forwarded to the leader", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(3).transferLeader(3);
    net.stabilize();
    assert.deepEqual(net.leaders(), [3]);
  });

  test("a lagging transferee is caught up first; proposals are refused meanwhile", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.node(1).propose(enc("a"));
    net.stabilize();
    net.node(1).transferLeader(3);
    assert.equal(net.node(1).status().leadTransferee, 3);
    assert.throws(
      () => net.node(1).propose(enc("b")),
      (err: unknown) =>
        err instanceof ProposalDroppedError &&
        err.message === "raft: proposal dropped: leadership transfer to 3 in progress",
    );
    net.heal();
    net.tickAll(2);
    assert.deepEqual(net.leaders(), [3]);
    assert.deepEqual(net.get(3).applied, ["a"]);
    assert.equal(net.term(3), 2);
  });

  test("a transfer that does not finish within an election timeout is aborted", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.node(1).transferLeader(3);
    assert.equal(net.node(1).status().leadTransferee, 3);
    assert.throws(() => net.node(1).propose(enc("x")), ProposalDroppedError);
    for (let i = 0; i < 10; i++) net.tick(1, 1);
    assert.equal(net.node(1).status().leadTransferee, NONE);
    assert.equal(net.state(1), StateType.Leader);
    net.node(1).propose(enc("accepted"));
    net.stabilize();
    assert.deepEqual(net.get(2).applied, ["accepted"]);
  });

  test("transfer to a learner or to the leader itself is ignored", () => {
    const net = new Network([1, 2]);
    net.elect(1);
    net.node(1).transferLeader(1);
    assert.equal(net.node(1).status().leadTransferee, NONE);
    net.node(1).proposeConfChange({ type: 2, nodeId: 3 });
    net.stabilize();
    net.node(1).transferLeader(3);
    assert.equal(net.node(1).status().leadTransferee, NONE);
  });
});
