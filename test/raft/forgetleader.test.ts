// forgetLeader: a follower that knows its leader is gone (the store sees the leader's
// connection close) drops it, so with CheckQuorum and PreVote a survivor can be elected at
// once instead of after the followers' leader lease runs out.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MessageType, StateType } from "../../src/raft/index.js";
import { Network } from "./network.js";

const CFG = { checkQuorum: true, preVote: true };

describe("forgetLeader", () => {
  test("survivors that forgot the dead leader elect one of them without waiting out the lease", () => {
    const net = new Network([1, 2, 3], CFG);
    net.elect(1);
    net.isolate(1);
    net.node(2).forgetLeader();
    net.node(3).forgetLeader();
    net.stabilize();
    assert.equal(net.node(2).status().softState.lead, 0);
    net.elect(2);
    assert.equal(net.state(2), StateType.Leader);
    assert.equal(net.term(2), 2);
    assert.equal(net.node(3).status().softState.lead, 2);
  });

  test("without it, the pre-vote of a survivor is refused while the other still holds the lease", () => {
    const net = new Network([1, 2, 3], CFG);
    net.elect(1);
    net.isolate(1);
    net.elect(2);
    assert.notEqual(net.state(2), StateType.Leader);
    assert.equal(net.term(3), 1);
    assert.equal(net.node(3).status().softState.lead, 1);
  });

  test("a follower that forgot a live leader follows it again at its next heartbeat", () => {
    const net = new Network([1, 2, 3], CFG);
    net.elect(1);
    net.node(2).forgetLeader();
    net.stabilize();
    assert.equal(net.node(2).status().softState.lead, 0);
    net.tick(1, 1);
    assert.equal(net.node(2).status().softState.lead, 1);
    assert.equal(net.state(1), StateType.Leader);
    assert.equal(net.term(1), 1);
  });

  test("a leader, candidate or pre-candidate is not affected", () => {
    const net = new Network([1, 2, 3], CFG);
    net.elect(1);
    net.node(1).forgetLeader();
    net.stabilize();
    assert.equal(net.node(1).status().softState.lead, 1);
    net.isolate(3);
    net.node(3).campaign();
    net.stabilize();
    assert.equal(net.state(3), StateType.PreCandidate);
    net.node(3).forgetLeader();
    assert.equal(net.state(3), StateType.PreCandidate);
    assert.equal(
      net.countDelivered((m) => m.type === MessageType.Vote),
      2,
    );
  });
});
