import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ConfChangeType,
  decodeConfChange,
  encodeConfChange,
  MemoryStorage,
  MessageType,
  NONE,
  ProposalDroppedError,
  StateType,
} from "../../src/raft/index.js";
import { addLearner, addNode, enc, Network, removeNode } from "./network.js";

describe("conf change encoding", () => {
  test("round-trips, and malformed data gets a clear error", () => {
    const cc = { type: ConfChangeType.AddLearnerNode, nodeId: 2 ** 40 + 7, context: enc("http://x") };
    const data = encodeConfChange(cc);
    assert.equal(data.length, 10 + 8);
    assert.deepEqual(decodeConfChange(data), cc);
    assert.deepEqual(decodeConfChange(encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3 })), {
      type: ConfChangeType.RemoveNode,
      nodeId: 3,
    });
    assert.throws(() => decodeConfChange(new Uint8Array(3)), /malformed conf change/);
    assert.throws(() => decodeConfChange(new Uint8Array([1, 9, 0, 0, 0, 0, 0, 0, 0, 1])), /unknown type 9/);
    assert.throws(
      () => encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 0 }),
      /positive safe integer/,
    );
  });
});

describe("membership changes", () => {
  test("adding a voter: it catches up, and from then on counts for the quorum", () => {
    const net = new Network([1]);
    net.elect(1);
    net.node(1).propose(enc("before"));
    net.node(1).proposeConfChange(addNode(2));
    net.stabilize();
    assert.deepEqual(net.get(1).confState, { voters: [1, 2], learners: [] });
    // A joiner starts from the cluster's initial configuration and replays the whole log.
    net.add(2, new MemoryStorage({ voters: [1], learners: [] }));
    net.tickAll(2);
    assert.deepEqual(net.get(2).confState, { voters: [1, 2], learners: [] });
    assert.deepEqual(net.get(2).applied, ["before"]);
    assert.equal(net.commit(2), 3);
    // Two voters now: nothing commits without node 2.
    net.isolate(2);
    net.node(1).propose(enc("needs-2"));
    net.stabilize();
    assert.equal(net.commit(1), 3);
    net.heal();
    net.tickAll(1);
    assert.equal(net.commit(1), 4);
  });

  test("a member joining with an empty storage learns the configuration from a snapshot", () => {
    const net = new Network([1]);
    net.elect(1);
    net.node(1).propose(enc("v"));
    net.node(1).proposeConfChange(addNode(2));
    net.stabilize();
    const leader = net.get(1);
    leader.storage.createSnapshot(3, leader.confState, enc(leader.applied.join(",")));
    leader.storage.compact(3);
    net.add(2, new MemoryStorage());
    net.tickAll(3);
    assert.equal(
      net.countDelivered((m) => m.type === MessageType.Snap && m.to === 2),
      1,
    );
    assert.deepEqual(net.get(2).confState, { voters: [1, 2], learners: [] });
    assert.deepEqual(net.node(2).status().confState, { voters: [1, 2], learners: [] });
    net.node(1).propose(enc("w"));
    net.stabilize();
    assert.deepEqual(net.get(2).applied, ["<snapshot 3:v>", "w"]);
  });

  test("learners receive the log but do not count for the quorum, vote or campaign; AddNode promotes", () => {
    const net = new Network([1, 2]);
    net.elect(1);
    net.node(1).proposeConfChange(addLearner(3));
    net.stabilize();
    net.add(3, new MemoryStorage({ voters: [1, 2], learners: [] }));
    net.tickAll(2);
    assert.deepEqual(net.get(3).confState, { voters: [1, 2], learners: [3] });
    assert.equal(net.node(1).status().progress!.get(3)!.isLearner, true);
    // Commit needs 2 of the 2 voters; the learner's copy does not help.
    net.isolate(2);
    net.node(1).propose(enc("x"));
    net.stabilize();
    assert.equal(net.get(3).storage.lastIndex(), 3);
    assert.equal(net.commit(1), 2);
    net.heal();
    net.tickAll(1);
    assert.equal(net.commit(1), 3);
    // A learner never campaigns, and candidates do not ask it for a vote.
    net.isolate(1);
    net.delivered = [];
    net.tickAll(40);
    assert.equal(
      net.countDelivered((m) => m.from === 3 && m.type === MessageType.Vote),
      0,
    );
    assert.equal(
      net.countDelivered((m) => m.to === 3 && m.type === MessageType.Vote),
      0,
    );
    assert.equal(net.state(3), StateType.Follower);
    net.heal();
    net.tickAll(20);
    const [leader] = net.leaders();
    net.node(leader).proposeConfChange(addNode(3));
    net.stabilize();
    for (const id of [1, 2, 3]) assert.deepEqual(net.get(id).confState, { voters: [1, 2, 3], learners: [] });
    assert.equal(net.node(leader).status().progress!.get(3)!.isLearner, false);
  });

  test("removing a voter shrinks the quorum", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).proposeConfChange(removeNode(3));
    net.stabilize();
    for (const id of [1, 2]) assert.deepEqual(net.get(id).confState, { voters: [1, 2], learners: [] });
    assert.equal(net.node(1).status().progress!.has(3), false);
    net.isolate(3);
    net.node(1).propose(enc("without-3"));
    net.stabilize();
    assert.deepEqual(net.get(2).applied, ["without-3"]);
  });

  test("applying a removal commits entries the smaller quorum already holds", () => {
    const net = new Network([1, 2]);
    net.elect(1);
    net.get(1).holdConfChanges = true;
    net.node(1).proposeConfChange(removeNode(2));
    net.stabilize();
    assert.deepEqual(net.get(1).heldConfChanges, [{ type: ConfChangeType.RemoveNode, nodeId: 2 }]);
    net.isolate(2);
    net.node(1).propose(enc("after-removal"));
    net.stabilize();
    assert.equal(net.commit(1), 2, "still needs node 2");
    net.node(1).applyConfChange(net.get(1).heldConfChanges[0]);
    net.stabilize();
    assert.equal(net.commit(1), 3);
    assert.deepEqual(net.get(1).applied, ["after-removal"]);
  });

  test("only one conf change may be pending at a time", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.get(1).holdConfChanges = true;
    net.node(1).proposeConfChange(addLearner(4));
    assert.throws(
      () => net.node(1).proposeConfChange(addLearner(5)),
      (err: unknown) =>
        err instanceof ProposalDroppedError &&
        err.message === "raft: proposal dropped: a configuration change is already pending",
    );
    net.stabilize();
    assert.equal(net.commit(1), 2);
    // Committed and applied (the held change is handed to the application): a new one is allowed.
    net.node(1).proposeConfChange(addLearner(5));
    net.stabilize();
    assert.equal(net.commit(1), 3);
  });

  test("a leader that removes itself steps down and the others elect a new leader", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).proposeConfChange(removeNode(1));
    net.stabilize();
    assert.equal(net.state(1), StateType.Follower);
    assert.equal(net.node(1).status().softState.lead, NONE);
    assert.deepEqual(net.get(2).confState, { voters: [2, 3], learners: [] });
    net.delivered = [];
    net.tickAll(40);
    const leaders = net.leaders();
    assert.equal(leaders.length, 1);
    assert.ok(leaders[0] === 2 || leaders[0] === 3);
    assert.equal(
      net.countDelivered((m) => m.from === 1 && m.type === MessageType.Vote),
      0,
      "1 never campaigns",
    );
    net.node(leaders[0]).propose(enc("two-voters"));
    net.stabilize();
    assert.deepEqual(net.get(2).applied, ["two-voters"]);
  });
});
