// The leader role: accepting proposals, replicating with per-follower flow control
// (probe / pipelined replicate / snapshot), advancing the commit index, heartbeats and
// CheckQuorum, ReadIndex (ReadOnlySafe) and leadership transfer.
//
// Broadcasts are coalesced: proposals and commit advances only mark the leader dirty, and
// flushLeader() (called by RawNode before building a Ready) sends one MsgApp per follower
// carrying everything proposed since the last Ready.

import { CompactedError, ProposalDroppedError, UnavailableError } from "./errors.js";
import type { Progress } from "./progress.js";
import { hasQuorum } from "./quorum.js";
import type { Raft } from "./raft.js";
import {
  type Entry,
  EntryType,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  ProgressState,
  StateType,
} from "./types.js";
import { newMessage } from "./util.js";

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Beat:
      bcastHeartbeat(r);
      return;
    case MessageType.CheckQuorum:
      if (!r.trk.quorumActive(r.id)) {
        r.becomeFollower(r.term, NONE);
        return;
      }
      for (const id of r.trk.ids) if (id !== r.id) r.trk.progress.get(id)!.recentActive = false;
      return;
    case MessageType.Prop:
      propose(r, m);
      return;
    case MessageType.ReadIndex:
      handleReadIndex(r, m);
      return;
  }

  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case MessageType.AppResp:
      handleAppendResponse(r, m, pr);
      return;
    case MessageType.HeartbeatResp:
      handleHeartbeatResponse(r, m, pr);
      return;
    case MessageType.SnapStatus:
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for the next heartbeat response before probing again.
      pr.probeSent = true;
      return;
    case MessageType.Unreachable:
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.TransferLeader:
      handleTransferLeader(r, m.from, pr);
      return;
  }
}

function propose(r: Raft, m: Message): void {
  if (m.entries.length === 0) throw new Error("raft: empty proposal");
  if (!r.trk.progress.has(r.id))
    throw new ProposalDroppedError("this node is not a member of the configuration");
  if (r.leadTransferee !== NONE) {
    throw new ProposalDroppedError(`leadership transfer to ${r.leadTransferee} in progress`);
  }
  const local = m.from === r.id || m.from === NONE;
  let ents: Entry[] = m.entries;
  for (let i = 0; i < ents.length; i++) {
    if (ents[i].type !== EntryType.ConfChange) continue;
    const refusal = r.confChangeRefusal(ents[i]);
    if (refusal === undefined) {
      r.pendingConfIndex = r.log.lastIndex() + i + 1;
      continue;
    }
    if (local) throw new ProposalDroppedError(refusal);
    // A forwarded change cannot be refused to its proposer: keep the slot as a no-op, as etcd does.
    if (ents === m.entries) ents = ents.slice();
    ents[i] = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
  }
  if (!r.appendEntries(ents)) throw new ProposalDroppedError("uncommitted entries exceed the limit");
}

// ---- replication ----

/**
 * Sends one MsgApp to `to` if its flow control allows (or a snapshot when the entries it
 * needs are compacted). Returns whether a message was sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.trk.progress.get(to)!;
  if (pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  let prevTerm: number;
  let ents: Entry[];
  try {
    prevTerm = r.log.term(prevIndex);
    ents = r.log.entriesFrom(pr.next, r.maxMsgSize);
  } catch (err) {
    if (err instanceof CompactedError || err instanceof UnavailableError) return sendSnapshot(r, to, pr);
    throw err;
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  const commit = r.log.committed;
  r.send(
    newMessage({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit }),
  );
  if (commit > pr.sentCommit) pr.sentCommit = commit;
  pr.sentEntries(ents.length, ents.length > 0 ? ents[ents.length - 1].index : prevIndex);
  return true;
}

function sendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  // A follower that has not answered lately would likely not take a (large) snapshot either.
  if (!pr.recentActive) return false;
  const snapshot = r.log.snapshot();
  if (snapshot.metadata.index === 0)
    throw new Error("raft: need a non-empty snapshot to catch up a follower");
  pr.becomeSnapshot(snapshot.metadata.index);
  r.send(newMessage({ type: MessageType.Snap, to, snapshot }));
  return true;
}

/** Sends everything `to` can take now: several MsgApp when entries exceed maxSizePerMsg. */
function sendAllAppends(r: Raft, to: NodeId, pr: Progress, sendIfEmpty: boolean): void {
  while (maybeSendAppend(r, to, sendIfEmpty)) {
    sendIfEmpty = false;
    if (pr.state !== ProgressState.Replicate || pr.next > r.log.lastIndex()) return;
  }
}

/** Sends the coalesced broadcast and read round, if any. Called before each Ready is built. */
export function flushLeader(r: Raft): void {
  if (r.state !== StateType.Leader) {
    r.bcastPending = false;
    r.readRoundPending = false;
    return;
  }
  if (r.bcastPending) {
    r.bcastPending = false;
    for (const id of r.trk.ids) {
      if (id === r.id) continue;
      const pr = r.trk.progress.get(id)!;
      sendAllAppends(r, id, pr, pr.sentCommit < r.log.committed);
    }
  }
  if (r.readRoundPending) bcastHeartbeat(r);
}

function handleAppendResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  if (m.reject) {
    // rejectHint is where the follower's log may still match; with its term there we can skip
    // our own entries of higher terms too, so each round trip skips at least one term.
    let nextProbe = m.rejectHint;
    if (m.logTerm > 0) nextProbe = r.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, nextProbe)) {
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      maybeSendAppend(r, m.from, true);
    }
    return;
  }
  const wasProbeAtMatch = pr.match === m.index && pr.state === ProgressState.Probe;
  if (!pr.maybeUpdate(m.index) && !wasProbeAtMatch) return;
  if (pr.state === ProgressState.Probe) {
    pr.becomeReplicate();
  } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= r.log.firstIndex()) {
    // The follower caught up past the compaction point (snapshot installed or not needed).
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === ProgressState.Replicate) {
    pr.inflights.freeLE(m.index);
  }
  if (r.maybeCommit()) r.releasePendingReadIndexMessages();
  // Entries go out at once to keep the pipeline full; a commit-only update waits for the
  // coalesced broadcast, where it can ride along with the next proposals.
  sendAllAppends(r, m.from, pr, false);
  if (pr.sentCommit < r.log.committed) r.bcastPending = true;
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

// ---- heartbeats and ReadIndex ----

function bcastHeartbeat(r: Raft): void {
  // Every heartbeat carries the newest pending read ctx, so it also serves as a read round.
  const ctx = r.readOnly.lastPendingRequestCtx();
  r.readRoundPending = false;
  for (const id of r.trk.ids) {
    if (id === r.id) continue;
    const pr = r.trk.progress.get(id)!;
    // Never tell a follower to commit beyond what it is known to have.
    const m = newMessage({
      type: MessageType.Heartbeat,
      to: id,
      commit: Math.min(pr.match, r.log.committed),
    });
    if (ctx !== undefined) m.context = ctx;
    r.send(m);
  }
}

function handleHeartbeatResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  pr.probeSent = false;
  // A full pipeline whose responses were lost would stall; free one slot per heartbeat.
  if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
  // The follower is alive but behind: re-send, or send an empty MsgApp whose consistency
  // check reveals a lost append (the follower rejects it and we fall back to probing).
  if (pr.match < r.log.lastIndex() || pr.state === ProgressState.Probe) maybeSendAppend(r, m.from, true);
  if (m.context === undefined || m.context.length === 0) return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (acks === undefined || !hasQuorum(r.trk.voters, (id) => acks.has(id))) return;
  for (const rs of r.readOnly.advance(m.context)) respondToReadIndex(r, rs.req, rs.index);
}

function handleReadIndex(r: Raft, m: Message): void {
  const ctx = m.context;
  if (ctx === undefined || ctx.length === 0)
    throw new Error("raft: a read index request needs a non-empty ctx");
  if (r.trk.voters.length === 1 && r.trk.voters[0] === r.id) {
    respondToReadIndex(r, m, r.log.committed);
    return;
  }
  // Until this leader commits an entry of its term, its commit index may lag the true one.
  if (r.log.termOrZero(r.log.committed) !== r.term) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  r.readOnly.addRequest(r.log.committed, m, ctx);
  r.readOnly.recvAck(r.id, ctx);
  // The confirming heartbeat round goes out with the next Ready, so reads that arrive in
  // the meantime share it.
  r.readRoundPending = true;
}

function respondToReadIndex(r: Raft, req: Message, index: number): void {
  const ctx = req.context!;
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index, requestCtx: ctx });
    return;
  }
  r.send(newMessage({ type: MessageType.ReadIndexResp, to: req.from, index, context: ctx }));
}

// ---- leadership transfer ----

function handleTransferLeader(r: Raft, transferee: NodeId, pr: Progress): void {
  if (pr.isLearner) return;
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === transferee) return;
    r.leadTransferee = NONE;
  }
  if (transferee === r.id) return;
  // The transfer must finish within an election timeout (see tickHeartbeat).
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, transferee);
  else maybeSendAppend(r, transferee, true);
}

function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send(newMessage({ type: MessageType.TimeoutNow, to }));
}
