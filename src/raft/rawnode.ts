// RawNode: the driver-facing wrapper around the Raft state machine. It turns calls into
// messages, and collects what the driver must do (persist, send, apply) into Ready batches.

import { encodeConfChange, normalizeConfState } from "./confchange.js";
import { ProposalDroppedError } from "./errors.js";
import { flushLeader } from "./leader.js";
import { Raft } from "./raft.js";
import {
  type ConfChange,
  type Config,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  type ProgressStatus,
  type RaftNode,
  type Ready,
  SnapshotStatus,
  type SoftState,
  StateType,
  type Status,
} from "./types.js";
import { newMessage, payloadSize } from "./util.js";

/** Message types only the node itself generates; step() refuses them from the network. */
const LOCAL_TYPES = new Set<MessageType>([
  MessageType.Hup,
  MessageType.Beat,
  MessageType.Unreachable,
  MessageType.SnapStatus,
  MessageType.CheckQuorum,
]);
const KNOWN_TYPES = new Set<string>(Object.values(MessageType));

export class RawNode implements RaftNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;

  /** Restores from config.storage (hard state, conf state, snapshot, entries) and config.applied. */
  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.Hup, from: this.raft.id }));
  }

  propose(data: Uint8Array): void {
    this.proposeEntry({ term: 0, index: 0, type: EntryType.Normal, data });
  }

  proposeConfChange(cc: ConfChange): void {
    this.proposeEntry({ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) });
  }

  private proposeEntry(entry: Entry): void {
    this.raft.step(newMessage({ type: MessageType.Prop, from: this.raft.id, entries: [entry] }));
  }

  /**
   * Feeds a message from a peer. A forwarded proposal or read request that cannot be
   * accepted here is dropped silently: its proposer is elsewhere and will time out.
   */
  step(msg: Message): void {
    if (typeof msg !== "object" || msg === null) throw new Error("raft: step needs a message object");
    if (!KNOWN_TYPES.has(msg.type)) throw new Error(`raft: unknown message type ${String(msg.type)}`);
    if (LOCAL_TYPES.has(msg.type)) throw new Error(`raft: cannot step the local message type ${msg.type}`);
    try {
      this.raft.step(msg);
    } catch (err) {
      if (err instanceof ProposalDroppedError) return;
      throw err;
    }
  }

  hasReady(): boolean {
    const r = this.raft;
    flushLeader(r);
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.log.unstable.nextSnapshot() !== undefined || r.log.unstable.hasNextEntries()) return true;
    if (r.log.hasNextCommittedEnts()) return true;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState) return true;
    return !sameHardState(r.hardState(), this.prevHardState);
  }

  ready(): Ready {
    const r = this.raft;
    flushLeader(r);
    const entries = r.log.unstable.nextEntries();
    const committedEntries = r.log.nextCommittedEnts();
    const rd: Ready = {
      readStates: r.readStates,
      entries,
      committedEntries,
      messages: r.msgs,
      mustSync: false,
    };
    r.msgs = [];
    r.readStates = [];
    const snapshot = r.log.unstable.nextSnapshot();
    if (snapshot !== undefined) rd.snapshot = snapshot;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState) {
      rd.softState = ss;
      this.prevSoftState = ss;
    }
    const hs = r.hardState();
    const prev = this.prevHardState;
    if (!sameHardState(hs, prev)) {
      rd.hardState = hs;
      rd.mustSync = hs.term !== prev.term || hs.vote !== prev.vote;
      this.prevHardState = hs;
    }
    if (entries.length > 0) rd.mustSync = true;
    // Hand each item out once, even if ready() is called again before advance().
    r.log.unstable.acceptInProgress();
    if (committedEntries.length > 0)
      r.log.acceptApplying(committedEntries[committedEntries.length - 1].index);
    return rd;
  }

  /** Acknowledges that rd was handled: its entries and snapshot are durable, its committed entries applied. */
  advance(rd: Ready): void {
    const r = this.raft;
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      r.log.stableTo(last.index, last.term);
    }
    if (rd.snapshot !== undefined) {
      const index = rd.snapshot.metadata.index;
      r.log.stableSnapTo(index);
      if (index > r.log.applied) r.log.appliedTo(index);
    }
    if (rd.committedEntries.length > 0) {
      r.log.appliedTo(rd.committedEntries[rd.committedEntries.length - 1].index);
      r.reduceUncommittedSize(payloadSize(rd.committedEntries));
    }
  }

  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  transferLeader(transferee: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.TransferLeader, from: transferee }));
  }

  readIndex(ctx: Uint8Array): void {
    if (ctx.length === 0) throw new Error("raft: readIndex needs a non-empty ctx");
    this.raft.step(newMessage({ type: MessageType.ReadIndex, context: ctx }));
  }

  forgetLeader(): void {
    this.raft.forgetLeader();
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.Unreachable, from: id }));
  }

  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.raft.step(
      newMessage({ type: MessageType.SnapStatus, from: id, reject: status === SnapshotStatus.Failure }),
    );
  }

  status(): Status {
    const r = this.raft;
    const st: Status = {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.log.applied,
      leadTransferee: r.leadTransferee,
      confState: normalizeConfState(r.trk.voters, r.trk.learners),
    };
    if (r.state === StateType.Leader) {
      const progress = new Map<NodeId, ProgressStatus>();
      for (const id of r.trk.ids) {
        const pr = r.trk.progress.get(id)!;
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
        });
      }
      st.progress = progress;
    }
    return st;
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
