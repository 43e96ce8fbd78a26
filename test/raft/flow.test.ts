import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Message, MessageType, ProgressState } from "../../src/raft/index.js";
import { enc, Network } from "./network.js";

/** Takes the queued messages of one type to one peer, leaving the rest queued. */
function take(net: Network, type: MessageType, to: number): Message[] {
  const taken = net.queue.filter((m) => m.type === type && m.to === to);
  net.queue = net.queue.filter((m) => !(m.type === type && m.to === to));
  return taken;
}

describe("flow control and batching", () => {
  test("proposals between two Readies go out as one MsgApp per follower", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 50; i++) net.node(1).propose(enc(`p${i}`));
    net.processReady(1);
    const apps = net.queue.filter((m) => m.type === MessageType.App);
    assert.deepEqual(
      apps.map((m) => [m.to, m.entries.length, m.index]),
      [
        [2, 50, 1],
        [3, 50, 1],
      ],
    );
    net.stabilize();
    assert.equal(net.commit(3), 51);
    assert.equal(net.get(3).applied.length, 50);
  });

  test("MsgApp are cut at maxSizePerMsg (always at least one entry)", () => {
    const net = new Network([1, 2], { maxSizePerMsg: 3000 });
    net.elect(1);
    for (let i = 0; i < 7; i++) net.node(1).propose(new Uint8Array(1024));
    net.node(1).propose(new Uint8Array(5000));
    net.processReady(1);
    const sizes = take(net, MessageType.App, 2).map((m) => m.entries.map((e) => e.data.length));
    assert.deepEqual(sizes, [[1024, 1024], [1024, 1024], [1024, 1024], [1024], [5000]]);
  });

  test("no more than maxInflightMsgs MsgApp are outstanding to a follower in the replicate state", () => {
    const net = new Network([1, 2], { maxInflightMsgs: 3 });
    net.elect(1);
    assert.equal(net.node(1).status().progress!.get(2)!.state, ProgressState.Replicate);
    const held: Message[] = [];
    for (let i = 0; i < 6; i++) {
      net.node(1).propose(enc(`e${i}`));
      net.processReady(1);
      held.push(...take(net, MessageType.App, 2));
    }
    assert.deepEqual(
      held.map((m) => m.entries.map((e) => e.index)),
      [[2], [3], [4]],
      "three in flight; the rest wait",
    );
    // Acknowledging the first frees one slot; the leader sends everything it held back in one go.
    net.node(2).step(held[0]);
    net.processReady(2);
    net.deliver();
    net.processReady(1);
    const next = take(net, MessageType.App, 2);
    assert.deepEqual(
      next.map((m) => m.entries.map((e) => e.index)),
      [[5, 6, 7]],
    );
    for (const m of held.slice(1)) net.node(2).step(m);
    for (const m of next) net.node(2).step(m);
    net.stabilize();
    assert.equal(net.commit(1), 7);
    assert.equal(net.commit(2), 7);
  });

  test("in the probe state the leader sends one MsgApp per heartbeat interval", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 3; i++) {
      net.node(1).propose(enc(`x${i}`));
      net.stabilize();
    }
    net.heal();
    // The lost appends left 3 behind; make the leader probe it.
    net.node(1).reportUnreachable(3);
    assert.equal(net.node(1).status().progress!.get(3)!.state, ProgressState.Probe);
    net.node(1).propose(enc("y"));
    net.processReady(1);
    const first = take(net, MessageType.App, 3);
    assert.equal(first.length, 1);
    net.node(1).propose(enc("z"));
    net.processReady(1);
    assert.equal(take(net, MessageType.App, 3).length, 0, "paused until a response or heartbeat");
    net.stabilize();
    net.tickAll(2);
    assert.equal(net.node(1).status().progress!.get(3)!.state, ProgressState.Replicate);
    assert.deepEqual(net.get(3).applied, ["x0", "x1", "x2", "y", "z"]);
  });

  test("a lost MsgApp in the replicate state is recovered on the next heartbeat", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.filter = (m) => !(m.type === MessageType.App && m.to === 3);
    net.node(1).propose(enc("once"));
    net.stabilize();
    assert.equal(net.get(3).storage.lastIndex(), 1);
    net.filter = undefined;
    net.tickAll(1);
    assert.equal(net.get(3).storage.lastIndex(), 2);
    assert.deepEqual(net.get(3).applied, ["once"]);
  });
});

describe("Ready", () => {
  test("hard and soft state appear only when changed; mustSync follows entries and term/vote", () => {
    const net = new Network([1, 2, 3]);
    const n1 = net.node(1);
    assert.equal(n1.hasReady(), false);
    n1.campaign();
    const rd = n1.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: 1, commit: 0 });
    assert.deepEqual(rd.softState, { lead: 0, raftState: "StateCandidate" });
    assert.equal(rd.mustSync, true);
    assert.equal(rd.messages.length, 2);
    net.get(1).storage.setHardState(rd.hardState!);
    net.queue.push(...rd.messages);
    n1.advance(rd);
    assert.equal(n1.hasReady(), false);
    net.stabilize();
    assert.equal(net.state(1), "StateLeader");
    n1.propose(enc("a"));
    const rd2 = n1.ready();
    assert.equal(rd2.hardState, undefined);
    assert.equal(rd2.softState, undefined);
    assert.equal(rd2.entries.length, 1);
    assert.equal(rd2.mustSync, true);
    n1.advance(rd2);
    net.get(1).storage.append(rd2.entries);
    for (const m of rd2.messages) net.queue.push(m);
    net.deliver();
    net.processReady(2);
    net.processReady(3);
    net.deliver();
    // A commit-only change needs no fsync before sending.
    const rd3 = n1.ready();
    assert.deepEqual(rd3.hardState, { term: 1, vote: 1, commit: 2 });
    assert.equal(rd3.mustSync, false);
    assert.deepEqual(
      rd3.committedEntries.map((e) => e.index),
      [2],
    );
  });

  test("maxCommittedSizePerReady splits committed entries across Readies", () => {
    const net = new Network([1], { maxCommittedSizePerReady: 2048 });
    net.elect(1);
    for (let i = 0; i < 5; i++) net.node(1).propose(new Uint8Array(1024));
    const sizes: number[] = [];
    while (net.node(1).hasReady()) {
      const rd = net.node(1).ready();
      net.get(1).storage.append(rd.entries);
      if (rd.committedEntries.length > 0) sizes.push(rd.committedEntries.length);
      net.node(1).advance(rd);
    }
    assert.deepEqual(sizes, [2, 2, 1]);
  });

  test("messages produced while a Ready is being handled come in the next Ready", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const n1 = net.node(1);
    n1.propose(enc("a"));
    const rd = n1.ready();
    n1.propose(enc("b"));
    net.get(1).storage.append(rd.entries);
    n1.advance(rd);
    const rd2 = n1.ready();
    assert.deepEqual(
      rd.entries.map((e) => e.index),
      [2],
    );
    assert.deepEqual(
      rd2.entries.map((e) => e.index),
      [3],
    );
    assert.deepEqual(
      rd2.messages.filter((m) => m.to === 2).map((m) => m.entries.map((e) => e.index)),
      [[3]],
    );
  });
});
