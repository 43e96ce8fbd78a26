import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  EntryType,
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  MemoryStorage,
  MessageType,
  ProgressState,
  SnapshotStatus,
} from "../../src/raft/index.js";
import { enc, Network } from "./network.js";

const entry = (index: number, term: number, data = "") => ({
  index,
  term,
  type: EntryType.Normal,
  data: enc(data),
});

describe("MemoryStorage", () => {
  test("append overwrites a conflicting suffix and ignores compacted entries", () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    s.append([entry(2, 2), entry(3, 2), entry(4, 2)]);
    assert.deepEqual(
      [1, 2, 3, 4].map((i) => s.term(i)),
      [1, 2, 2, 2],
    );
    assert.throws(() => s.append([entry(6, 2)]), /missing log entry/);
    s.createSnapshot(3, undefined, enc("img"));
    s.compact(3);
    s.append([entry(2, 3), entry(3, 3), entry(4, 3), entry(5, 3)]);
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.term(3), 2, "the compaction point keeps its term");
    assert.deepEqual(
      [4, 5].map((i) => s.term(i)),
      [3, 3],
    );
  });

  test("entries, term and compact report ErrCompacted / ErrUnavailable", () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1, "a"), entry(2, 1, "bb"), entry(3, 2, "ccc"), entry(4, 2, "dddd")]);
    assert.deepEqual(
      s.entries(1, 5, 3).map((e) => e.index),
      [1, 2],
    );
    assert.deepEqual(
      s.entries(3, 5, 1).map((e) => e.index),
      [3],
      "at least one entry",
    );
    s.compact(2);
    assert.throws(
      () => s.entries(2, 4, Infinity),
      (e) => e === ErrCompacted,
    );
    assert.throws(
      () => s.term(1),
      (e) => e === ErrCompacted,
    );
    assert.throws(
      () => s.term(5),
      (e) => e === ErrUnavailable,
    );
    assert.throws(
      () => s.compact(2),
      (e) => e === ErrCompacted,
    );
    assert.throws(
      () => s.compact(9),
      (e) => e === ErrUnavailable,
    );
    assert.equal(s.firstIndex(), 3);
    assert.equal(s.lastIndex(), 4);
  });

  test("snapshots must be newer than the current one; clone is independent", () => {
    const s = new MemoryStorage({ voters: [1], learners: [] });
    s.append([entry(1, 1), entry(2, 1)]);
    const snap = s.createSnapshot(2, { voters: [1, 2], learners: [3] }, enc("img"));
    assert.deepEqual(snap.metadata, { index: 2, term: 1, confState: { voters: [1, 2], learners: [3] } });
    assert.throws(
      () => s.createSnapshot(1, undefined, enc("")),
      (e) => e === ErrSnapOutOfDate,
    );
    const copy = s.clone();
    copy.append([entry(3, 2)]);
    copy.setHardState({ term: 2, vote: 1, commit: 3 });
    assert.equal(s.lastIndex(), 2);
    assert.equal(s.initialState().hardState.term, 0);
    const other = new MemoryStorage();
    other.applySnapshot(snap);
    assert.throws(
      () => other.applySnapshot(snap),
      (e) => e === ErrSnapOutOfDate,
    );
    assert.equal(other.firstIndex(), 3);
    assert.equal(other.lastIndex(), 2);
    assert.deepEqual(other.initialState().confState, { voters: [1, 2], learners: [3] });
  });
});

describe("snapshots", () => {
  test("a follower behind the leader's compaction point is caught up with a snapshot", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 10; i++) net.node(1).propose(enc(`v${i}`));
    net.stabilize();
    assert.equal(net.commit(1), 11);
    // The leader snapshots its state machine and compacts its log.
    const leader = net.get(1);
    leader.storage.createSnapshot(11, leader.confState, enc(leader.applied.join(",")));
    leader.storage.compact(11);
    net.heal();
    net.node(1).propose(enc("after"));
    net.stabilize();
    // The next heartbeat response shows 3 behind; what it needs is compacted.
    net.node(1).tick();
    net.stabilize();
    const snaps = net.delivered.filter((m) => m.type === MessageType.Snap);
    assert.equal(snaps.length, 1);
    assert.equal(snaps[0].to, 3);
    assert.equal(snaps[0].snapshot!.metadata.index, 11);
    // The follower restored it, including the configuration.
    const f = net.get(3);
    assert.equal(f.storage.firstIndex(), 12);
    assert.deepEqual(f.confState, { voters: [1, 2, 3], learners: [] });
    assert.equal(f.applied[0], "<snapshot 11:v0,v1,v2,v3,v4,v5,v6,v7,v8,v9>");
    // Its answer moved the leader past the snapshot, back to replicating the rest.
    net.node(1).reportSnapshot(3, SnapshotStatus.Finish);
    net.tickAll(2);
    assert.equal(net.node(1).status().progress!.get(3)!.state, ProgressState.Replicate);
    assert.equal(net.commit(3), 12);
    assert.deepEqual(f.applied.slice(1), ["after"]);
    assert.deepEqual(net.logData(3, 12), ["after"]);
  });

  test("the leader sends nothing else while in the snapshot state", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.node(1).propose(enc("v"));
    net.stabilize();
    net.get(1).storage.createSnapshot(2, net.get(1).confState, enc("img"));
    net.get(1).storage.compact(2);
    net.heal();
    let snapsSent = 0;
    net.filter = (m) => {
      if (m.type === MessageType.Snap) snapsSent++;
      return m.type !== MessageType.Snap;
    };
    net.tickAll(1);
    assert.equal(snapsSent, 1);
    assert.equal(net.node(1).status().progress!.get(3)!.state, ProgressState.Snapshot);
    net.node(1).propose(enc("w"));
    net.processReady(1);
    assert.deepEqual(
      net.queue.filter((m) => m.to === 3).map((m) => m.type),
      [],
      "paused",
    );
    net.tickAll(3);
    assert.equal(snapsSent, 1, "no resend before the outcome is reported");
    net.node(1).reportSnapshot(3, SnapshotStatus.Failure);
    net.filter = undefined;
    net.tickAll(3);
    assert.equal(net.node(1).status().progress!.get(3)!.state, ProgressState.Replicate);
    assert.equal(net.commit(3), 3);
    assert.deepEqual(net.get(3).applied, ["<snapshot 2:img>", "w"]);
  });

  test("a failed snapshot send goes back to probing and is retried", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 3; i++) net.node(1).propose(enc(`v${i}`));
    net.stabilize();
    const leader = net.get(1);
    leader.storage.createSnapshot(4, leader.confState, enc("img"));
    leader.storage.compact(4);
    net.heal();
    net.filter = (m) => m.type !== MessageType.Snap;
    net.tickAll(1);
    assert.equal(net.node(1).status().progress!.get(3)!.state, ProgressState.Snapshot);
    net.node(1).reportSnapshot(3, SnapshotStatus.Failure);
    assert.equal(net.node(1).status().progress!.get(3)!.state, ProgressState.Probe);
    net.filter = undefined;
    net.tickAll(3);
    assert.equal(net.get(3).storage.snapshot().metadata.index, 4);
    assert.equal(net.commit(3), 4);
  });

  test("a snapshot older than the follower's commit index is ignored", () => {
    const net = new Network([1, 2]);
    net.elect(1);
    net.node(1).propose(enc("a"));
    net.stabilize();
    const snap = net.get(1).storage.createSnapshot(1, net.get(1).confState, enc(""));
    net.node(2).step({
      type: MessageType.Snap,
      from: 1,
      to: 2,
      term: 1,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
      snapshot: snap,
    });
    const rd = net.node(2).ready();
    assert.equal(rd.snapshot, undefined);
    assert.deepEqual(
      rd.messages.map((m) => [m.type, m.index]),
      [[MessageType.AppResp, 2]],
    );
  });

  test("a node restarts from a snapshot plus entries in storage", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 5; i++) net.node(1).propose(enc(`v${i}`));
    net.stabilize();
    const s = net.get(2).storage;
    s.createSnapshot(4, net.get(2).confState, enc("img"));
    s.compact(4);
    net.restart(2);
    const st = net.node(2).status();
    assert.equal(st.hardState.commit, 6);
    assert.equal(st.applied, 4, "entries up to the snapshot need no re-applying");
    assert.deepEqual(st.confState, { voters: [1, 2, 3], learners: [] });
    net.stabilize();
    assert.deepEqual(net.get(2).applied, ["v3", "v4"]);
  });
});
