// The follower and candidate roles: tallying votes, forwarding proposals and reads to the
// leader, and accepting the leader's entries, heartbeats and snapshots.

import { ProposalDroppedError } from "./errors.js";
import { VoteResult } from "./quorum.js";
import type { Raft } from "./raft.js";
import { ProgressTracker } from "./tracker.js";
import { type Message, MessageType, NONE, type Snapshot, StateType } from "./types.js";
import { CampaignType, newMessage } from "./util.js";

export function stepCandidate(r: Raft, m: Message): void {
  const myRespType = r.state === StateType.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.Prop:
      throw new ProposalDroppedError("no leader");
    case MessageType.ReadIndex:
      throw new ProposalDroppedError("no leader", "read index request");
    case MessageType.App:
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case MessageType.Heartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case MessageType.Snap:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case myRespType: {
      const res = r.poll(m.from, !m.reject);
      if (res === VoteResult.Won) {
        if (r.state === StateType.PreCandidate) r.campaign(CampaignType.Election);
        else r.becomeLeader();
      } else if (res === VoteResult.Lost) {
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
  }
}

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Prop:
      if (r.lead === NONE) throw new ProposalDroppedError("no leader");
      if (r.disableProposalForwarding) {
        throw new ProposalDroppedError(
          `not leader and proposal forwarding is disabled (leader is ${r.lead})`,
        );
      }
      r.send({ ...m, to: r.lead });
      return;
    case MessageType.App:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case MessageType.Heartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case MessageType.Snap:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case MessageType.TransferLeader:
      if (r.lead !== NONE) r.send({ ...m, to: r.lead });
      return;
    case MessageType.TimeoutNow:
      r.hup(CampaignType.Transfer);
      return;
    case MessageType.ReadIndex:
      if (r.lead === NONE) throw new ProposalDroppedError("no leader", "read index request");
      r.send({ ...m, to: r.lead });
      return;
    case MessageType.ReadIndexResp:
      r.readStates.push({ index: m.index, requestCtx: m.context ?? new Uint8Array(0) });
      return;
  }
}

// ---- follower-side replication ----

function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index < r.log.committed) {
    r.send(newMessage({ type: MessageType.AppResp, to: m.from, index: r.log.committed }));
    return;
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew >= 0) {
    r.send(newMessage({ type: MessageType.AppResp, to: m.from, index: lastNew }));
    return;
  }
  // Tell the leader the last index at or below the probe whose term is <= the probed term:
  // every entry above it is certainly divergent, so one round trip skips a whole term.
  const hint = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.send(
    newMessage({
      type: MessageType.AppResp,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    }),
  );
}

function handleHeartbeat(r: Raft, m: Message): void {
  r.log.commitTo(m.commit);
  const resp = newMessage({ type: MessageType.HeartbeatResp, to: m.from });
  if (m.context !== undefined) resp.context = m.context;
  r.send(resp);
}

function handleSnapshot(r: Raft, m: Message): void {
  if (m.snapshot === undefined) return;
  const index = restore(r, m.snapshot) ? r.log.lastIndex() : r.log.committed;
  r.send(newMessage({ type: MessageType.AppResp, to: m.from, index }));
}

/** Installs a snapshot newer than our commit index; false if it was not needed. */
function restore(r: Raft, s: Snapshot): boolean {
  const { index, term, confState } = s.metadata;
  if (index <= r.log.committed) return false;
  if (r.state !== StateType.Follower) {
    // Only a leader of this term can send a snapshot, and then we are its follower.
    r.becomeFollower(r.term + 1, NONE);
    return false;
  }
  if (!confState.voters.includes(r.id) && !confState.learners.includes(r.id)) return false;
  if (r.log.matchTerm(index, term)) {
    // We already have the snapshot's last entry: just fast-forward the commit index.
    r.log.commitTo(index);
    return false;
  }
  r.log.restore(s);
  r.trk = ProgressTracker.fromConfState(confState, r.trk.maxInflight, r.log.lastIndex());
  r.isLearner = r.trk.progress.get(r.id)?.isLearner ?? false;
  return true;
}
