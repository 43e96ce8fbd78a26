import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Message, MessageType, StateType } from "../../src/raft/index.js";
import { dec, enc, Network } from "./network.js";

const heartbeatsWithCtx = (msgs: Message[]) =>
  msgs
    .filter((m) => m.type === MessageType.Heartbeat && m.context !== undefined)
    .map((m) => [m.to, dec(m.context!)]);

describe("ReadIndex (ReadOnlySafe)", () => {
  test("the leader confirms leadership with a heartbeat round, then returns its commit index", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).propose(enc("a"));
    net.stabilize();
    net.node(1).readIndex(enc("r1"));
    net.processReady(1);
    assert.deepEqual(heartbeatsWithCtx(net.queue), [
      [2, "r1"],
      [3, "r1"],
    ]);
    assert.equal(net.get(1).readStates.length, 0, "not before a quorum answered");
    net.stabilize();
    assert.deepEqual(
      net.get(1).readStates.map((rs) => [rs.index, dec(rs.requestCtx)]),
      [[2, "r1"]],
    );
  });

  test("one heartbeat acknowledgement from a quorum is enough (a slow follower does not matter)", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.node(1).readIndex(enc("r"));
    net.stabilize();
    assert.equal(net.get(1).readStates.length, 1);
  });

  test("reads requested before the next Ready share one heartbeat round", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (const ctx of ["a", "b", "c"]) net.node(1).readIndex(enc(ctx));
    net.processReady(1);
    assert.deepEqual(heartbeatsWithCtx(net.queue), [
      [2, "c"],
      [3, "c"],
    ]);
    net.stabilize();
    assert.deepEqual(
      net.get(1).readStates.map((rs) => dec(rs.requestCtx)),
      ["a", "b", "c"],
    );
  });

  test("a later round's quorum releases the reads queued before it", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).readIndex(enc("first"));
    net.processReady(1);
    const firstRound = net.queue;
    net.queue = [];
    net.node(1).readIndex(enc("second"));
    net.processReady(1);
    assert.deepEqual(heartbeatsWithCtx(net.queue), [
      [2, "second"],
      [3, "second"],
    ]);
    net.stabilize();
    assert.deepEqual(
      net.get(1).readStates.map((rs) => dec(rs.requestCtx)),
      ["first", "second"],
    );
    // The first round's late answers change nothing.
    net.queue = firstRound;
    net.stabilize();
    assert.equal(net.get(1).readStates.length, 2);
  });

  test("a follower forwards the request and gets the leader's read index back", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).propose(enc("a"));
    net.node(1).propose(enc("b"));
    net.stabilize();
    net.node(3).readIndex(enc("from-3"));
    net.stabilize();
    const fwd = net.delivered.filter((m) => m.type === MessageType.ReadIndex);
    assert.deepEqual(
      fwd.map((m) => [m.from, m.to]),
      [[3, 1]],
    );
    assert.equal(
      net.countDelivered((m) => m.type === MessageType.ReadIndexResp && m.to === 3),
      1,
    );
    assert.deepEqual(
      net.get(3).readStates.map((rs) => [rs.index, dec(rs.requestCtx)]),
      [[3, "from-3"]],
    );
    assert.equal(net.get(1).readStates.length, 0);
  });

  test("a follower without a leader refuses the read", () => {
    const net = new Network([1, 2, 3]);
    assert.throws(() => net.node(2).readIndex(enc("x")), /read index request dropped: no leader/);
  });

  test("a leader that lost leadership before the quorum answered does not answer", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).readIndex(enc("stale"));
    net.processReady(1);
    net.deliver();
    net.processReady(2);
    net.processReady(3);
    const acks = net.queue;
    net.queue = [];
    assert.equal(acks.filter((m) => m.type === MessageType.HeartbeatResp).length, 2);
    // Before the acknowledgements arrive, a new leader is elected and 1 learns about it.
    net.isolate(1);
    net.elect(2);
    net.heal();
    net.tick(2, 1);
    assert.equal(net.state(1), StateType.Follower);
    assert.equal(net.term(1), 2);
    net.queue = acks;
    net.stabilize();
    assert.equal(net.get(1).readStates.length, 0);
  });

  test("a new leader defers reads until it has committed an entry of its own term", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.stabilize();
    net.isolate(1);
    net.node(2).campaign();
    net.processReady(2);
    net.deliver();
    net.processReady(3);
    net.deliver();
    assert.equal(net.state(2), StateType.Leader);
    // The new leader's empty entry is not committed yet.
    net.node(2).readIndex(enc("early"));
    net.processReady(2);
    assert.deepEqual(heartbeatsWithCtx(net.queue), [], "deferred");
    net.stabilize();
    assert.equal(net.commit(2), 2);
    assert.deepEqual(
      net.get(2).readStates.map((rs) => [rs.index, dec(rs.requestCtx)]),
      [[2, "early"]],
    );
  });

  test("a single-voter cluster answers at once", () => {
    const net = new Network([1]);
    net.elect(1);
    net.node(1).readIndex(enc("solo"));
    const rd = net.node(1).ready();
    assert.deepEqual(
      rd.readStates.map((rs) => [rs.index, dec(rs.requestCtx)]),
      [[1, "solo"]],
    );
    assert.equal(rd.messages.length, 0);
  });
});
