// The data that crosses the Raft core's boundary: entries, messages, hard state,
// snapshots and the Ready batch. Shapes follow etcd-io/raft's raftpb so the store
// and the peer transport can map them one to one onto etcd's wire concepts.

/** A member id. etcd uses uint64; kite keeps ids below 2^53 so they stay plain numbers. */
export type NodeId = number;

/** 0 means "no node": no vote cast, no known leader. */
export const NONE: NodeId = 0;

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque to Raft. An empty Normal entry is the no-op a new leader appends. */
  data: Uint8Array;
}

/** What must be on disk before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** The application's state machine image, opaque to Raft. */
  data: Uint8Array;
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  AddLearnerNode = 2,
}

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** Opaque to Raft; the store keeps the member's URLs here. */
  context?: Uint8Array;
}

export enum MessageType {
  /** Local: start an election. */
  Hup = "MsgHup",
  /** Local: leader sends heartbeats. */
  Beat = "MsgBeat",
  Prop = "MsgProp",
  App = "MsgApp",
  AppResp = "MsgAppResp",
  Vote = "MsgVote",
  VoteResp = "MsgVoteResp",
  PreVote = "MsgPreVote",
  PreVoteResp = "MsgPreVoteResp",
  Snap = "MsgSnap",
  Heartbeat = "MsgHeartbeat",
  HeartbeatResp = "MsgHeartbeatResp",
  /** Local: the transport could not reach a peer. */
  Unreachable = "MsgUnreachable",
  /** Local: the outcome of sending a snapshot. */
  SnapStatus = "MsgSnapStatus",
  /** Local: leader checks it still hears from a quorum. */
  CheckQuorum = "MsgCheckQuorum",
  TransferLeader = "MsgTransferLeader",
  TimeoutNow = "MsgTimeoutNow",
  ReadIndex = "MsgReadIndex",
  ReadIndexResp = "MsgReadIndexResp",
}

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** Term of the entry at `index` (MsgApp: the entry preceding `entries`; votes: last log term). */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  /** On a rejected MsgAppResp: the follower's hint for where the leader should probe next. */
  rejectHint: number;
  /** Carried through ReadIndex and heartbeats to match read requests with their round. */
  context?: Uint8Array;
}

export enum StateType {
  Follower = "StateFollower",
  Candidate = "StateCandidate",
  Leader = "StateLeader",
  PreCandidate = "StatePreCandidate",
}

export interface SoftState {
  lead: NodeId;
  raftState: StateType;
}

/** A linearizable read point: once applied index >= index, the read with requestCtx may be served. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

/**
 * One batch of work for the driver. Handle it in this order: persist snapshot, entries and
 * hard state (fsync when mustSync); send messages; apply the snapshot then committed
 * entries; serve read states; then call advance().
 */
export interface Ready {
  /** Set only when it changed since the last Ready. Never persisted. */
  softState?: SoftState;
  /** Set only when it changed since the last Ready. */
  hardState?: HardState;
  readStates: ReadState[];
  /** Entries to append to stable storage, overwriting any stored entries at the same indexes. */
  entries: Entry[];
  /** A snapshot to persist and install in the state machine. */
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  /** Whether hard state and entries must be fsynced before messages go out. */
  mustSync: boolean;
}

export enum SnapshotStatus {
  Finish = 0,
  Failure = 1,
}

export enum ProgressState {
  Probe = "StateProbe",
  Replicate = "StateReplicate",
  Snapshot = "StateSnapshot",
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
}

export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  /** Only on the leader. */
  progress?: Map<NodeId, ProgressStatus>;
  leadTransferee: NodeId;
  confState: ConfState;
}

/** Read access to the stable log, as etcd-io/raft's Storage. The driver appends to it. */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), cut to at most maxSize bytes of data but always at least one entry. */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** Term of the entry at index i; throws ErrCompacted / ErrUnavailable as etcd-io/raft does. */
  term(i: number): number;
  lastIndex(): number;
  /** Index of the first entry still available (snapshot index + 1). */
  firstIndex(): number;
  snapshot(): Snapshot;
}

export interface Config {
  id: NodeId;
  /** Ticks a follower waits before campaigning; the real timeout is drawn from [electionTick, 2*electionTick). */
  electionTick: number;
  /** Ticks between leader heartbeats. Must be smaller than electionTick. */
  heartbeatTick: number;
  storage: Storage;
  /** The last index the application has applied; entries at or below it are not handed out again. */
  applied?: number;
  /** Upper bound on the data bytes in one MsgApp. Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Bound on unacknowledged MsgApp per follower in the replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Proposals are dropped once uncommitted entry bytes exceed this. Default unlimited. */
  maxUncommittedEntriesSize?: number;
  /** Upper bound on the bytes of committed entries in one Ready. Default unlimited. */
  maxCommittedSizePerReady?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  /** When set, a follower rejects proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
  /** Seeded source of randomness in [0, 1), for the randomized election timeout. */
  random?: () => number;
}

/**
 * The Raft core as the driver sees it (implemented by RawNode in rawnode.ts). Every call is
 * synchronous and deterministic; the driver owns timers, sockets and disk.
 */
export interface RaftNode {
  /** One logical clock tick: drives election timeouts, heartbeats and CheckQuorum. */
  tick(): void;
  /** Starts an election now (a PreVote round first when preVote is on). */
  campaign(): void;
  /** Proposes data to be appended to the log. Throws ProposalDroppedError when it cannot be. */
  propose(data: Uint8Array): void;
  proposeConfChange(cc: ConfChange): void;
  /** Feeds a message received from a peer. */
  step(msg: Message): void;
  hasReady(): boolean;
  /** The pending batch of work. Call advance(rd) once it has been handled. */
  ready(): Ready;
  advance(rd: Ready): void;
  /** Applies a committed ConfChange entry to the configuration; returns the new ConfState. */
  applyConfChange(cc: ConfChange): ConfState;
  transferLeader(transferee: NodeId): void;
  /** Requests a linearizable read point; it comes back as a ReadState carrying ctx. */
  readIndex(ctx: Uint8Array): void;
  /**
   * A follower drops its leader without campaigning, so it grants (pre-)votes at once rather
   * than honouring the leader lease; for when the leader is known to be gone.
   */
  forgetLeader(): void;
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, status: SnapshotStatus): void;
  status(): Status;
}
