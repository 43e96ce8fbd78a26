// The Raft state machine: terms, role transitions, ticks, elections (with PreVote and the
// leader lease), vote handling and configuration changes. The follower and candidate roles
// live in follower.ts, the leader role (replication, commit, ReadIndex, leadership transfer)
// in leader.ts. Mirrors etcd-io/raft's raft struct, without AsyncStorageWrites: the driver
// persists each Ready before sending the messages that depend on it (a leader's MsgApp may go
// out while it persists the same entries; the leader counts its own copy when it appends).

import { decodeConfChange, normalizeConfState } from "./confchange.js";
import { stepCandidate, stepFollower } from "./follower.js";
import { stepLeader } from "./leader.js";
import { RaftLog } from "./log.js";
import { VoteResult } from "./quorum.js";
import { ReadOnly } from "./readonly.js";
import { ProgressTracker } from "./tracker.js";
import {
  type ConfChange,
  ConfChangeType,
  type Config,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  type ReadState,
  type SoftState,
  StateType,
} from "./types.js";
import { CampaignType, newMessage, payloadSize } from "./util.js";

const TRANSFER_CTX = new TextEncoder().encode(CampaignType.Transfer);

function isTransferCtx(ctx: Uint8Array | undefined): boolean {
  if (ctx === undefined || ctx.length !== TRANSFER_CTX.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== TRANSFER_CTX[i]) return false;
  return true;
}

function voteRespType(t: MessageType): MessageType {
  return t === MessageType.PreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
}

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  state: StateType = StateType.Follower;
  readonly log: RaftLog;
  trk: ProgressTracker;
  /** Outgoing messages, handed out by the next Ready. */
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  randomizedElectionTimeout = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly disableProposalForwarding: boolean;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  private readonly random: () => number;

  isLearner = false;
  leadTransferee: NodeId = NONE;
  /** Index of the latest conf change proposed by this leader; a new one waits until it is applied. */
  pendingConfIndex = 0;
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** Read requests held back until this leader has committed an entry of its own term. */
  pendingReadIndexMessages: Message[] = [];
  /** Leader: proposals or a commit advance wait for one coalesced MsgApp broadcast. */
  bcastPending = false;
  /** Leader: a read request waits for a heartbeat round that starts after it arrived. */
  readRoundPending = false;

  constructor(c: Config) {
    if (!Number.isSafeInteger(c.id) || c.id <= 0)
      throw new Error(`raft: config id must be a positive integer`);
    if (!(c.heartbeatTick > 0)) throw new Error("raft: heartbeatTick must be greater than 0");
    if (!(c.electionTick > c.heartbeatTick))
      throw new Error("raft: electionTick must be greater than heartbeatTick");
    const maxInflight = c.maxInflightMsgs ?? 256;
    if (!(maxInflight > 0)) throw new Error("raft: maxInflightMsgs must be greater than 0");
    this.id = c.id;
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? Number.POSITIVE_INFINITY;
    this.random = c.random ?? Math.random;
    this.log = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? Number.POSITIVE_INFINITY);
    const { hardState, confState } = c.storage.initialState();
    this.trk = ProgressTracker.fromConfState(confState, maxInflight, this.log.lastIndex());
    this.isLearner = this.trk.progress.get(this.id)?.isLearner ?? false;
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState);
    if (c.applied !== undefined && c.applied > 0) this.log.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
  }

  private loadState(hs: HardState): void {
    if (hs.commit < this.log.committed || hs.commit > this.log.lastIndex()) {
      throw new Error(
        `raft: hard state commit ${hs.commit} is out of range [${this.log.committed}, ${this.log.lastIndex()}]`,
      );
    }
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Queues a message, filling in the sender and (except for forwarded requests) the term. */
  send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    const t = m.type;
    if (
      t === MessageType.Vote ||
      t === MessageType.VoteResp ||
      t === MessageType.PreVote ||
      t === MessageType.PreVoteResp
    ) {
      if (m.term === 0) throw new Error(`raft: term should be set when sending ${t}`);
    } else if (t !== MessageType.Prop && t !== MessageType.ReadIndex) {
      // Forwarded proposals and read requests travel without a term, like local messages.
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  // ---- role transitions ----

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
    this.leadTransferee = NONE;
    this.trk.resetVotes();
    this.trk.resetProgress(this.log.lastIndex(), this.id);
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
    this.bcastPending = false;
    this.readRoundPending = false;
  }

  /**
   * A follower forgets its leader, without campaigning (etcd-io/raft ForgetLeader). With
   * CheckQuorum and PreVote, followers that heard from a leader lately refuse (pre-)votes
   * until an election timeout has passed; one that forgot its leader grants them at once, so
   * when the leader is known to be gone a new one can be elected without that wait. It
   * follows again as soon as a leader's message arrives.
   */
  forgetLeader(): void {
    if (this.state === StateType.Follower) this.lead = NONE;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateType.Follower;
  }

  private becomeCandidate(): void {
    if (this.state === StateType.Leader) throw new Error("raft: invalid transition [leader -> candidate]");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.Candidate;
  }

  private becomePreCandidate(): void {
    if (this.state === StateType.Leader)
      throw new Error("raft: invalid transition [leader -> pre-candidate]");
    // Neither the term nor the vote changes: a failed pre-election leaves no trace.
    this.trk.resetVotes();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
  }

  becomeLeader(): void {
    if (this.state === StateType.Follower) throw new Error("raft: invalid transition [follower -> leader]");
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    const self = this.trk.progress.get(this.id)!;
    self.becomeReplicate();
    self.recentActive = true;
    // Conservatively assume the unapplied tail holds a conf change.
    this.pendingConfIndex = this.log.lastIndex();
    const empty: Entry = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
    this.appendEntries([empty]);
  }

  // ---- ticks ----

  tick(): void {
    if (this.state === StateType.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage({ type: MessageType.CheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) this.leadTransferee = NONE;
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: MessageType.Beat, from: this.id }));
    }
  }

  // ---- elections ----

  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.log.hasNextOrInProgressSnapshot();
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    const ents = this.log.slice(this.log.applied + 1, this.log.committed + 1, Number.POSITIVE_INFINITY);
    return ents.some((e) => e.type === EntryType.ConfChange);
  }

  hup(t: CampaignType): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) return;
    // A node must apply every committed conf change first: it may not be a voter any more.
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(t);
  }

  campaign(t: CampaignType): void {
    let term: number;
    let voteType: MessageType;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // A single-voter cluster wins at once.
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of this.trk.voters) {
      if (id === this.id) continue;
      const m = newMessage({ type: voteType, to: id, term, index, logTerm });
      if (t === CampaignType.Transfer) m.context = TRANSFER_CTX;
      this.send(m);
    }
  }

  poll(id: NodeId, granted: boolean): VoteResult {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  // ---- step ----

  step(m: Message): void {
    if (m.term === 0) {
      // Local message, or a forwarded proposal / read request.
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = isTransferCtx(m.context);
        // The leader lease: while we hear from a leader, a vote request is most likely from
        // a node that was cut off; ignoring it keeps it from disrupting the cluster.
        const leaseApplies = this.checkQuorum || (this.preVote && m.type === MessageType.PreVote);
        const inLease = leaseApplies && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) return;
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a PreVote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the term we would campaign at; we bump it on winning.
      } else if (
        m.type === MessageType.App ||
        m.type === MessageType.Heartbeat ||
        m.type === MessageType.Snap
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (
        (this.checkQuorum || this.preVote) &&
        (m.type === MessageType.Heartbeat || m.type === MessageType.App)
      ) {
        // A stale leader: our higher term in the response makes it step down. Without this a
        // node whose term ran ahead (it cannot win, votes are ignored) would stay cut off.
        this.send(newMessage({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        this.send(newMessage({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
    }
    if (this.state === StateType.Leader) stepLeader(this, m);
    else if (this.state === StateType.Follower) stepFollower(this, m);
    else stepCandidate(this, m);
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === MessageType.PreVote && m.term > this.term);
    // Learners answer too: a candidate asking us believes we were promoted, which our log may
    // not show yet (etcd-io/raft does the same). Candidates only count their own voters.
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // Answer with the request's term: for a pre-vote our own term may be lower and the
      // pre-candidate would drop the response as stale.
      this.send(newMessage({ type: voteRespType(m.type), to: m.from, term: m.term }));
      if (m.type === MessageType.Vote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(newMessage({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }));
    }
  }

  // ---- leader helpers used by leader.ts and rawnode.ts ----

  /** Appends entries as leader; false (nothing appended) when the uncommitted budget is spent. */
  appendEntries(ents: Entry[]): boolean {
    const last = this.log.lastIndex();
    const stamped: Entry[] = new Array(ents.length);
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i];
      stamped[i] = { term: this.term, index: last + 1 + i, type: e.type, data: e.data };
    }
    const size = payloadSize(stamped);
    if (this.uncommittedSize > 0 && size > 0 && this.uncommittedSize + size > this.maxUncommittedSize) {
      return false;
    }
    this.uncommittedSize += size;
    const newLast = this.log.append(stamped);
    // The leader counts its own copy at once (it persists in parallel with replication).
    this.trk.progress.get(this.id)?.maybeUpdate(newLast);
    this.maybeCommit();
    this.bcastPending = true;
    return true;
  }

  reduceUncommittedSize(size: number): void {
    this.uncommittedSize = size > this.uncommittedSize ? 0 : this.uncommittedSize - size;
  }

  /** Advances the commit index to what a quorum has, if that entry is from our term (Figure 8). */
  maybeCommit(): boolean {
    return this.log.maybeCommit(this.trk.committed(), this.term);
  }

  // ---- configuration ----

  applyConfChange(cc: ConfChange): ConfState {
    const pr = this.trk.progress.get(cc.nodeId);
    const next = Math.max(this.log.lastIndex(), 1);
    switch (cc.type) {
      case ConfChangeType.AddNode:
        if (pr === undefined) this.trk.add(cc.nodeId, false, next);
        else if (pr.isLearner) this.trk.setLearner(cc.nodeId, false);
        break;
      case ConfChangeType.AddLearnerNode:
        if (pr === undefined) this.trk.add(cc.nodeId, true, next);
        else if (!pr.isLearner) this.trk.setLearner(cc.nodeId, true);
        break;
      case ConfChangeType.RemoveNode:
        this.trk.remove(cc.nodeId);
        break;
      default:
        throw new Error(`raft: unknown conf change type ${cc.type}`);
    }
    const self = this.trk.progress.get(this.id);
    this.isLearner = self?.isLearner ?? false;
    if (this.state === StateType.Leader) {
      if (self === undefined || self.isLearner) {
        // A removed or demoted leader steps down; the remaining voters elect a new one.
        this.becomeFollower(this.term, NONE);
      } else {
        if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee))
          this.leadTransferee = NONE;
        // The quorum may have shrunk, and new members need their first MsgApp.
        if (this.maybeCommit()) this.releasePendingReadIndexMessages();
        this.bcastPending = true;
      }
    }
    return normalizeConfState(this.trk.voters, this.trk.learners);
  }

  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (this.log.termOrZero(this.log.committed) !== this.term) return;
    const held = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of held) stepLeader(this, m);
  }

  /** Checks a conf change entry proposed to this leader; returns why it must be refused, if so. */
  confChangeRefusal(e: Entry): string | undefined {
    try {
      decodeConfChange(e.data);
    } catch (err) {
      return (err as Error).message;
    }
    if (this.pendingConfIndex > this.log.applied) return "a configuration change is already pending";
    return undefined;
  }
}
