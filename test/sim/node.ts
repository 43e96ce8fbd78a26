// One simulated member: its durable storage (what survives a crash), the live RawNode and state
// machine (lost on a crash), and the Ready loop a real driver runs: persist snapshot, entries
// and hard state; send messages; apply the snapshot then committed entries; serve read
// states; advance.
import {
  type ConfChange,
  type ConfState,
  decodeConfChange,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  type NodeId,
  RawNode,
  type ReadState,
  type Snapshot,
  StateType,
} from "../../src/raft/index.js";
import type { LogView, SafetyChecker } from "./invariants.js";
import type { Rng } from "./rng.js";
import { SimStateMachine } from "./statemachine.js";

/** Where the simulator plugs into one node's Ready handling. */
export interface ReadyHooks {
  checker: SafetyChecker;
  send(msg: Message): void;
  /** Asked once the Ready is persisted: true crashes the node before it sends anything. */
  crashAfterPersist(node: SimNode): boolean;
  onApplied(node: SimNode, e: Entry): void;
  onConfChange(node: SimNode, cc: ConfChange, index: number, conf: ConfState): void;
  onReadState(node: SimNode, rs: ReadState): void;
  trace(line: string): void;
}

export interface RaftTuning {
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxUncommittedEntriesSize?: number;
  maxCommittedSizePerReady?: number;
  disableProposalForwarding?: boolean;
}

export class SimNode implements LogView {
  readonly durable = new MemoryStorage();
  raw: RawNode | null = null;
  sm: SimStateMachine | null = null;
  /** Set once the member is removed from the cluster: it never runs again. */
  retired = false;
  /** Bumped on every restart so late reports about an earlier life are not delivered. */
  incarnation = 0;
  logVersion = 0;
  /** The persisted hard state and the last soft state seen. */
  term = 0;
  commit = 0;
  role: StateType = StateType.Follower;
  lead: NodeId = 0;

  constructor(
    readonly id: NodeId,
    private readonly tuning: RaftTuning,
  ) {}

  get up(): boolean {
    return this.raw !== null;
  }

  snapshotIndex(): number {
    return this.durable.firstIndex() - 1;
  }

  lastIndex(): number {
    return this.durable.lastIndex();
  }

  termAt(i: number): number | undefined {
    if (i < this.durable.firstIndex() - 1 || i > this.durable.lastIndex()) return undefined;
    return this.durable.term(i);
  }

  /** Starts (or restarts) from durable storage alone, as a fresh process would. */
  start(rng: Rng): void {
    const { hardState } = this.durable.initialState();
    const snap = this.durable.snapshot();
    const sm = new SimStateMachine(snap.metadata.confState);
    sm.restore(snap);
    this.sm = sm;
    this.raw = new RawNode({
      id: this.id,
      storage: this.durable,
      applied: sm.applied,
      electionTick: this.tuning.electionTick,
      heartbeatTick: this.tuning.heartbeatTick,
      preVote: this.tuning.preVote,
      checkQuorum: this.tuning.checkQuorum,
      maxSizePerMsg: this.tuning.maxSizePerMsg,
      maxInflightMsgs: this.tuning.maxInflightMsgs,
      maxUncommittedEntriesSize: this.tuning.maxUncommittedEntriesSize,
      maxCommittedSizePerReady: this.tuning.maxCommittedSizePerReady,
      disableProposalForwarding: this.tuning.disableProposalForwarding,
      random: () => rng.float(),
    });
    this.incarnation++;
    this.term = hardState.term;
    this.commit = hardState.commit;
    this.role = StateType.Follower;
    this.lead = 0;
  }

  /** Loses everything not in durable storage. */
  crash(): void {
    this.raw = null;
    this.sm = null;
    this.role = StateType.Follower;
    this.lead = 0;
  }

  /** Handles one Ready; returns false if the node had none (or is down). */
  handleReady(hooks: ReadyHooks): boolean {
    const raw = this.raw;
    const sm = this.sm;
    if (raw === null || sm === null || !raw.hasReady()) return false;
    const rd = raw.ready();
    this.persist(rd.snapshot, rd.entries, hooks);
    const prevCommit = this.commit;
    if (rd.hardState !== undefined) {
      this.durable.setHardState(rd.hardState);
      this.term = rd.hardState.term;
      this.commit = rd.hardState.commit;
    }
    if (rd.softState !== undefined) {
      if (rd.softState.raftState !== this.role) {
        hooks.trace(`n${this.id} becomes ${rd.softState.raftState} term ${this.term}`);
      }
      this.role = rd.softState.raftState;
      this.lead = rd.softState.lead;
      if (this.role === StateType.Leader) hooks.checker.observeLeader(this.id, this.term);
    }
    if (this.commit > prevCommit) {
      // A node that leads now cannot have advanced its commit index before it led: only
      // leaders and followers move it, and winning takes a Ready to send the vote requests.
      const asLeader = this.role === StateType.Leader;
      hooks.checker.observeCommit(this, prevCommit, this.commit, this.term, asLeader);
    }
    if (hooks.crashAfterPersist(this)) return true;
    for (const m of rd.messages) hooks.send(m);
    if (rd.snapshot !== undefined) this.installSnapshot(rd.snapshot, sm, hooks);
    for (const e of rd.committedEntries) this.applyEntry(e, raw, sm, hooks);
    for (const rs of rd.readStates) hooks.onReadState(this, rs);
    raw.advance(rd);
    return true;
  }

  private persist(snap: Snapshot | undefined, entries: Entry[], hooks: ReadyHooks): void {
    if (snap !== undefined) {
      this.durable.applySnapshot(snap);
      this.logVersion++;
      hooks.trace(`n${this.id} persists snapshot index ${snap.metadata.index} term ${snap.metadata.term}`);
    }
    if (entries.length > 0) {
      this.durable.append(entries);
      this.logVersion++;
      hooks.checker.observeAppend(this, entries);
    }
  }

  private installSnapshot(snap: Snapshot, sm: SimStateMachine, hooks: ReadyHooks): void {
    sm.restore(snap);
    hooks.checker.observeSnapshot(this.id, snap.metadata.index, snap.metadata.term, sm.hash);
  }

  private applyEntry(e: Entry, raw: RawNode, sm: SimStateMachine, hooks: ReadyHooks): void {
    const before = sm.applied;
    sm.apply(e);
    hooks.checker.observeApply(this.id, e, before, this.commit, sm.hash);
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      sm.confState = raw.applyConfChange(cc);
      hooks.checker.observeConf(e.index, sm.confState);
      hooks.onConfChange(this, cc, e.index, sm.confState);
    }
    hooks.onApplied(this, e);
  }

  /**
   * Takes a state machine snapshot at the applied index and drops log entries up to `keep`
   * entries before it (an infinite `keep` only snapshots).
   */
  compact(keep: number): string | undefined {
    const sm = this.sm;
    if (sm === null || sm.applied <= this.durable.snapshot().metadata.index) return undefined;
    this.durable.createSnapshot(sm.applied, sm.confState, sm.image());
    const upTo = sm.applied - keep;
    if (upTo <= this.snapshotIndex()) return `n${this.id} snapshots at ${sm.applied}`;
    this.durable.compact(upTo);
    this.logVersion++;
    return `n${this.id} snapshots at ${sm.applied}, compacts through ${upTo}`;
  }
}
