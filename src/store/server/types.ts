// The store server as its callers (the etcd v3 gRPC layer, tests, tools) see it: one method
// per etcd RPC, etcd's semantics, plain TypeScript values. Requests and results reuse the MVCC
// shapes (src/store/mvcc/types.ts). Every failure is thrown as a StoreError (errors.ts) whose
// message is etcd's exact text and whose grpcCode is the status etcd answers with.
import type { Registry } from "prom-client";
import type {
  Bytes,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseId,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
  WatchFilter,
  WatchResponse,
} from "../mvcc/types.js";

/** etcdserverpb.ResponseHeader. Ids are uint64 on the wire, hence bigint. */
export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  /** The store revision the response reflects (etcd: the current revision after the op). */
  revision: number;
  raftTerm: number;
}

/** An MVCC result with its `revision` moved into the response header. */
export type Headed<T extends { revision: number }> = Omit<T, "revision"> & { header: ResponseHeader };

export type RangeResult = Headed<RangeResponse>;
export type PutResult = Headed<PutResponse>;
export type DeleteRangeResult = Headed<DeleteRangeResponse>;
/** Nested ResponseOp results keep their mvcc `revision` field; the gRPC layer may put it in a header. */
export type TxnResult = Headed<TxnResponse>;

export interface CompactRequest {
  revision: number;
  /** Wait until the compaction is durable before answering (etcd: physical). */
  physical?: boolean;
}

export interface LeaseGrantRequest {
  /** Seconds; raised to the minimum TTL, rejected above MAX_LEASE_TTL. */
  ttl: number;
  /** 0n or absent: the server picks a fresh positive id. */
  id?: LeaseId;
}

export interface LeaseGrantResult {
  header: ResponseHeader;
  id: LeaseId;
  ttl: number;
}

export interface LeaseKeepAliveResult {
  header: ResponseHeader;
  id: LeaseId;
  /** The renewed TTL in seconds. A lease that does not exist throws LeaseNotFound (etcd sends TTL 0). */
  ttl: number;
}

export interface LeaseTimeToLiveResult {
  header: ResponseHeader;
  id: LeaseId;
  /** Remaining seconds; -1 when the lease does not exist (etcd's answer, not an error). */
  ttl: number;
  grantedTtl: number;
  /** Attached keys, only when asked for. */
  keys: Bytes[];
}

export interface LeaseLeasesResult {
  header: ResponseHeader;
  leases: LeaseId[];
}

/** A request to watch; the gRPC layer maps its per-stream watch ids onto WatchHandle.id. */
export interface WatchCreateRequest {
  key: Bytes;
  rangeEnd?: Bytes;
  startRevision?: number;
  prevKv?: boolean;
  filters?: WatchFilter[];
  /** Send an empty-events delivery after each idle progress interval (etcd: 10 min). */
  progressNotify?: boolean;
}

/**
 * Deliveries to one watcher. Return false when backed up: deliveries pause until
 * WatchHandle.resume(); nothing is lost. A delivery with `canceled` ends the watch.
 */
export type WatchEventSink = (resp: WatchResponse) => boolean;

export interface WatchHandle {
  /** Server-wide watcher id (also the `watchId` field of every delivery to this watcher). */
  readonly id: number;
  cancel(): void;
  /** The sink can take deliveries again after having returned false. */
  resume(): void;
  /**
   * Asks for a progress notification: an empty-events delivery whose revision is the current
   * store revision, sent once the watcher has caught up (as etcd's RequestProgress).
   */
  requestProgress(): void;
}

export interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface MemberListResult {
  header: ResponseHeader;
  members: Member[];
}

/** Answer to MemberAdd: the new member (no name or client URLs until it starts) and all members. */
export interface MemberAddResult {
  header: ResponseHeader;
  member: Member;
  members: Member[];
}

export interface StatusResult {
  header: ResponseHeader;
  /** etcd version the server claims to be, e.g. "3.4.23". */
  version: string;
  /** Bytes the state machine occupies, as etcd's backend size. */
  dbSize: number;
  dbSizeInUse: number;
  /** Member id of the leader; 0n when there is none. */
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  /** Active alarms as text, e.g. "memberID:123 alarm:NOSPACE ". */
  errors: string[];
  isLearner: boolean;
}

export interface HashKVResult {
  header: ResponseHeader;
  hash: number;
  compactRevision: number;
}

/** etcdserverpb.AlarmType. */
export type AlarmType = "NONE" | "NOSPACE" | "CORRUPT";

export interface AlarmMember {
  memberId: bigint;
  alarm: AlarmType;
}

export interface AlarmResult {
  header: ResponseHeader;
  alarms: AlarmMember[];
}

export interface SnapshotStream {
  /** Total bytes the chunks will carry (for SnapshotResponse.remaining_bytes). */
  size: number;
  chunks: AsyncIterable<Uint8Array>;
}

/** The etcd v3 KV, Lease, Watch, Cluster (read side) and Maintenance services. */
export interface KvService {
  /** A header for the current state (for responses that carry no other data). */
  header(): ResponseHeader;
  /** Whether a leader is known (the gRPC layer's `hasleader` metadata check). */
  hasLeader(): boolean;

  /** Linearizable (ReadIndex, batched) unless req.serializable, which is served locally. */
  range(req: RangeRequest): Promise<RangeResult>;
  put(req: PutRequest): Promise<PutResult>;
  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResult>;
  /** A txn without writes in either branch is served as a linearizable read. */
  txn(req: TxnRequest): Promise<TxnResult>;
  compact(req: CompactRequest): Promise<{ header: ResponseHeader }>;

  leaseGrant(req: LeaseGrantRequest): Promise<LeaseGrantResult>;
  leaseRevoke(id: LeaseId): Promise<{ header: ResponseHeader }>;
  leaseKeepAlive(id: LeaseId): Promise<LeaseKeepAliveResult>;
  leaseTimeToLive(id: LeaseId, keys: boolean): Promise<LeaseTimeToLiveResult>;
  leaseLeases(): Promise<LeaseLeasesResult>;

  /**
   * Starts a watcher. The first delivery may come synchronously from inside this call (a
   * compacted startRevision yields one `canceled` delivery with compactRevision set).
   */
  watch(req: WatchCreateRequest, sink: WatchEventSink): WatchHandle;
  /**
   * For a progress request covering several watchers (etcd >= 3.4.31 answers one with watch
   * id -1): the current revision if every listed watcher is caught up, else undefined.
   */
  watchProgress(ids: Iterable<number>): number | undefined;

  status(): Promise<StatusResult>;
  memberList(): Promise<MemberListResult>;
  /**
   * Cluster membership (etcd's Cluster service); optional so single-member fakes need not
   * implement them. Errors are StoreErrors with etcd's texts (MemberNotFound, PeerURLExist,
   * MemberExist, MemberNotLearner, LearnerNotReady, TooManyLearners, MemberBadURLs, NoLeader).
   */
  memberAdd?(peerURLs: string[], isLearner: boolean): Promise<MemberAddResult>;
  memberRemove?(id: bigint): Promise<MemberListResult>;
  memberUpdate?(id: bigint, peerURLs: string[]): Promise<MemberListResult>;
  /** Only the leader can tell whether the learner caught up; other members forward to it. */
  memberPromote?(id: bigint): Promise<MemberListResult>;
  /**
   * Maintenance.MoveLeader, answered by the leader only (NotLeader elsewhere): hands leadership
   * to a voting member and waits until it leads (BadLeaderTransferee, TimeoutLeaderTransfer).
   */
  moveLeader?(transferee: bigint): Promise<{ header: ResponseHeader }>;
  /** Hash of the MVCC keyspace up to revision (0 = current), as etcd's HashKV. */
  hashKV(revision: number): Promise<HashKVResult>;
  /** The state-machine image, streamed in chunks (etcd streams its bbolt file). */
  snapshot(): Promise<SnapshotStream>;
  alarmList(): Promise<AlarmResult>;
  /** Arms an alarm for a member (replicated through the log). */
  alarmActivate(alarm: AlarmMember): Promise<AlarmResult>;
  /** Disarms an alarm (replicated through the log); the result lists the alarms disarmed. */
  alarmDeactivate(alarm: AlarmMember): Promise<AlarmResult>;
  defragment(): Promise<{ header: ResponseHeader }>;

  /** prom-client registry with etcd's metric names; the HTTP layer serves it on /metrics. */
  readonly registry: Registry;
}
