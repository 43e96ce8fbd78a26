// planEarlyWork: which messages of a Ready may leave, and which committed entries may be
// applied, before the Ready's WAL write (earlywork.ts explains why).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type Ready,
} from "../../src/raft/types.js";
import { planEarlyWork } from "../../src/store/server/earlywork.js";

const entry = (index: number, term = 2): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new Uint8Array([1]),
});

function msg(type: MessageType, to: number, commit = 0): Message {
  return {
    type,
    to,
    from: 1,
    term: 2,
    logTerm: 0,
    index: 0,
    entries: [],
    commit,
    reject: false,
    rejectHint: 0,
  };
}

function ready(parts: Partial<Ready>): Ready {
  return { entries: [], committedEntries: [], messages: [], readStates: [], mustSync: false, ...parts };
}

const onDisk: HardState = { term: 2, vote: 1, commit: 10 };
const types = (ms: Message[]) => ms.map((m) => `${m.type}>${m.to}`);

describe("planEarlyWork", () => {
  test("a leader's appends and heartbeats go ahead of its own write", () => {
    const rd = ready({
      entries: [entry(11), entry(12)],
      hardState: { term: 2, vote: 1, commit: 10 },
      mustSync: true,
      messages: [msg(MessageType.App, 2, 10), msg(MessageType.App, 3, 10), msg(MessageType.Heartbeat, 2, 10)],
    });
    const plan = planEarlyWork(rd, 10, onDisk);
    assert.deepEqual(types(plan.early), ["MsgApp>2", "MsgApp>3", "MsgHeartbeat>2"]);
    assert.deepEqual(plan.late, []);
  });

  test("a commit index beyond the disk (a sole voter's own entries) makes the message wait", () => {
    const rd = ready({
      entries: [entry(11)],
      committedEntries: [entry(11)],
      mustSync: true,
      messages: [msg(MessageType.App, 4, 11), msg(MessageType.App, 5, 10)],
    });
    const plan = planEarlyWork(rd, 10, onDisk);
    assert.deepEqual(types(plan.early), ["MsgApp>5"]);
    assert.deepEqual(types(plan.late), ["MsgApp>4"]);
    assert.equal(plan.applyEarly, 0, "entry 11 is not on disk yet");
  });

  test("nothing goes early from a Ready with a new term or vote, or with a snapshot", () => {
    const apps = [msg(MessageType.App, 2, 10)];
    for (const hardState of [
      { term: 3, vote: 1, commit: 10 },
      { term: 2, vote: 0, commit: 10 },
    ]) {
      const plan = planEarlyWork(ready({ hardState, mustSync: true, messages: apps }), 10, onDisk);
      assert.deepEqual(plan.early, []);
      assert.equal(plan.late.length, 1);
    }
    const snapshot = {
      metadata: { index: 20, term: 2, confState: { voters: [1], learners: [] } },
      data: new Uint8Array(0),
    };
    const plan = planEarlyWork(ready({ snapshot, messages: apps, committedEntries: [entry(5)] }), 10, onDisk);
    assert.deepEqual(plan.early, []);
    assert.equal(plan.applyEarly, 0);
  });

  test("answers that promise durable state wait; forwarded requests do not", () => {
    const rd = ready({
      entries: [entry(11)],
      mustSync: true,
      messages: [
        msg(MessageType.AppResp, 1),
        msg(MessageType.Prop, 1),
        msg(MessageType.VoteResp, 3),
        msg(MessageType.ReadIndex, 1),
        msg(MessageType.HeartbeatResp, 1),
      ],
    });
    const plan = planEarlyWork(rd, 10, onDisk);
    assert.deepEqual(types(plan.early), ["MsgProp>1", "MsgReadIndex>1"]);
    assert.deepEqual(types(plan.late), ["MsgAppResp>1", "MsgVoteResp>3", "MsgHeartbeatResp>1"]);
  });

  test("committed entries already on disk are applied early, those arriving now after the write", () => {
    const rd = ready({
      entries: [entry(13), entry(14)],
      committedEntries: [entry(11), entry(12), entry(13)],
      mustSync: true,
    });
    assert.equal(planEarlyWork(rd, 12, onDisk).applyEarly, 2);
    // Entries this Ready replaces do not count as on disk.
    const replacing = ready({
      entries: [entry(12, 3)],
      committedEntries: [entry(11), entry(12)],
      mustSync: true,
    });
    assert.equal(planEarlyWork(replacing, 14, onDisk).applyEarly, 1);
  });
});
