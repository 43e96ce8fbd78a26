// Shapes of the MVCC key-value state machine. They mirror etcd's protobuf messages
// (etcdserverpb.rpc.proto, mvccpb.kv.proto) in camelCase so the gRPC layer maps them 1:1.
// Keys and values are bytes; revisions and versions are plain numbers (< 2^53);
// lease ids are int64 as bigint, 0n meaning "no lease".

export type Bytes = Uint8Array;
export type LeaseId = bigint;
export const NO_LEASE: LeaseId = 0n;

/**
 * mvccpb.KeyValue. A key that does not exist is never returned as a KeyValue. The store hands out
 * its internal objects (also inside events): treat them and their buffers as immutable.
 */
export interface KeyValue {
  key: Bytes;
  createRevision: number;
  modRevision: number;
  /** Number of puts since the key was (re)created; 0 only on a DELETE event's kv. */
  version: number;
  value: Bytes;
  lease: LeaseId;
}

export type EventType = "PUT" | "DELETE";

/** mvccpb.Event. A DELETE event's kv carries only key and modRevision (the deleting revision). */
export interface Event {
  type: EventType;
  kv: KeyValue;
  prevKv?: KeyValue;
}

export type SortOrder = "NONE" | "ASCEND" | "DESCEND";
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";

/**
 * rangeEnd semantics (as etcd): absent/empty = the single key `key`; a single zero byte = every
 * key >= `key`; otherwise the half-open interval [key, rangeEnd). key "\0" with rangeEnd "\0" is
 * the whole keyspace. Prefix ranges are the caller's job (rangeEnd = key with its last byte + 1).
 */
export interface RangeRequest {
  key: Bytes;
  rangeEnd?: Bytes;
  /** 0/absent = no limit. */
  limit?: number;
  /** 0/absent = current revision. */
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  /** Accepted and ignored by the state machine (consistency is the server's business). */
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResponse {
  /** Store revision the read was served at (header revision: current revision, as etcd). */
  revision: number;
  kvs: KeyValue[];
  /** True when `limit` cut the result. */
  more: boolean;
  /** Number of keys in the range before limit and min/max filters (etcd semantics). */
  count: number;
}

export interface PutRequest {
  key: Bytes;
  value?: Bytes;
  lease?: LeaseId;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface PutResponse {
  /** Store revision after the put. */
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Bytes;
  rangeEnd?: Bytes;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  /** Store revision after the delete (unchanged when nothing was deleted). */
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";
export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE";

/**
 * etcdserverpb.Compare. Only the field matching `target` is read; a missing one counts as 0 / empty.
 * With rangeEnd every key in the range must satisfy the compare. A missing key compares as
 * version/create/mod/lease 0, but any VALUE compare against a missing key is false.
 */
export interface Compare {
  result: CompareResult;
  target: CompareTarget;
  key: Bytes;
  rangeEnd?: Bytes;
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Bytes;
  lease?: LeaseId;
}

/** etcdserverpb.RequestOp: exactly one member set. An op with none set is rejected (KEY_NOT_FOUND, as etcd). */
export interface RequestOp {
  requestRange?: RangeRequest;
  requestPut?: PutRequest;
  requestDeleteRange?: DeleteRangeRequest;
  requestTxn?: TxnRequest;
}

export interface ResponseOp {
  responseRange?: RangeResponse;
  responsePut?: PutResponse;
  responseDeleteRange?: DeleteRangeResponse;
  responseTxn?: TxnResponse;
}

export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}

export interface TxnResponse {
  /** Store revision after the whole txn (one revision for all its writes). */
  revision: number;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactResponse {
  revision: number;
}

export interface LeaseGrantResponse {
  revision: number;
  id: LeaseId;
  /** Granted TTL in seconds, after raising to the minimum TTL. */
  ttl: number;
}

export interface LeaseRevokeResponse {
  /** Store revision after deleting the lease's keys (unchanged if it had none). */
  revision: number;
}

export interface LeaseInfo {
  id: LeaseId;
  /** TTL in seconds as granted (after min-TTL raise). */
  grantedTtl: number;
  /** Attached keys, sorted ascending by bytes. */
  keys: Bytes[];
}

export interface HashKVResponse {
  /** Current store revision. */
  revision: number;
  hash: number;
  compactRevision: number;
}

// ---- watch ----

export type WatchFilter = "NOPUT" | "NODELETE";

/** The store's part of etcd's WatchCreateRequest; progress_notify and fragment are the gRPC layer's. */
export interface WatchRequest {
  key: Bytes;
  /** Same encoding as RangeRequest.rangeEnd. */
  rangeEnd?: Bytes;
  /** 0/absent = from the next revision; <= current revision replays history. */
  startRevision?: number;
  prevKv?: boolean;
  filters?: WatchFilter[];
}

/**
 * One delivery to a watcher's sink. Events of one revision are never split over deliveries.
 * A delivery with `compactRevision` set means startRevision (or the catch-up point) was
 * compacted: the watcher is removed and `canceled` is true.
 */
export interface WatchResponse {
  watchId: number;
  /** Header revision: the store revision when the delivery was made. */
  revision: number;
  events: Event[];
  compactRevision?: number;
  canceled?: boolean;
}

/**
 * Receives deliveries. Return true when it can take more; false means "accepted, but I am
 * backed up": the watcher is parked (no further deliveries) until WatchHub.resume(id), then it
 * is caught up from history by syncWatchers without holding back other watchers.
 */
export type WatchSink = (resp: WatchResponse) => boolean;

// ---- errors ----

/**
 * Error codes thrown by the state machine, with the message etcd's inner error carries (the
 * gRPC layer maps code -> rpctypes string, which mostly is "etcdserver: " + message):
 *
 * | code            | message (MvccError.message)                      | etcd gRPC error (status)                                         |
 * |-----------------|--------------------------------------------------|------------------------------------------------------------------|
 * | COMPACTED       | mvcc: required revision has been compacted       | OutOfRange "etcdserver: mvcc: required revision has been compacted" |
 * | FUTURE_REV      | mvcc: required revision is a future revision     | OutOfRange "etcdserver: mvcc: required revision is a future revision" |
 * | LEASE_NOT_FOUND | lease not found                                  | NotFound "etcdserver: requested lease not found"                 |
 * | LEASE_EXISTS    | lease already exists                             | FailedPrecondition "etcdserver: lease already exists"            |
 * | TTL_TOO_LARGE   | too large lease TTL                              | OutOfRange "etcdserver: too large lease TTL"                     |
 * | NOT_PRIMARY     | not a primary lessor                             | (server forwards keep-alives to the leader)                      |
 * | TOO_MANY_OPS    | too many operations in txn request               | InvalidArgument "etcdserver: too many operations in txn request" |
 * | DUPLICATE_KEY   | duplicate key given in txn request               | InvalidArgument "etcdserver: duplicate key given in txn request" |
 * | KEY_NOT_FOUND   | key not found                                    | InvalidArgument "etcdserver: key not found"                      |
 * | EMPTY_KEY       | key is not provided                              | InvalidArgument "etcdserver: key is not provided"                |
 * | VALUE_PROVIDED  | value is provided                                | InvalidArgument "etcdserver: value is provided"                  |
 * | LEASE_PROVIDED  | lease is provided                                | InvalidArgument "etcdserver: lease is provided"                  |
 * | WATCH_NOT_FOUND | watcher not found                                | (local to the watch layer)                                       |
 * | BAD_REQUEST     | (describes the problem)                          | InvalidArgument (bad input not covered by etcd's checks)          |
 * | BAD_SNAPSHOT    | snapshot is corrupt: ...                         | (restore failure)                                                |
 */
export type MvccErrorCode =
  | "COMPACTED"
  | "FUTURE_REV"
  | "LEASE_NOT_FOUND"
  | "LEASE_EXISTS"
  | "TTL_TOO_LARGE"
  | "NOT_PRIMARY"
  | "TOO_MANY_OPS"
  | "DUPLICATE_KEY"
  | "KEY_NOT_FOUND"
  | "EMPTY_KEY"
  | "VALUE_PROVIDED"
  | "LEASE_PROVIDED"
  | "WATCH_NOT_FOUND"
  | "BAD_REQUEST"
  | "BAD_SNAPSHOT";

export const MVCC_ERROR_MESSAGES: Readonly<Record<MvccErrorCode, string>> = {
  COMPACTED: "mvcc: required revision has been compacted",
  FUTURE_REV: "mvcc: required revision is a future revision",
  LEASE_NOT_FOUND: "lease not found",
  LEASE_EXISTS: "lease already exists",
  TTL_TOO_LARGE: "too large lease TTL",
  NOT_PRIMARY: "not a primary lessor",
  TOO_MANY_OPS: "too many operations in txn request",
  DUPLICATE_KEY: "duplicate key given in txn request",
  KEY_NOT_FOUND: "key not found",
  EMPTY_KEY: "key is not provided",
  VALUE_PROVIDED: "value is provided",
  LEASE_PROVIDED: "lease is provided",
  WATCH_NOT_FOUND: "watcher not found",
  BAD_REQUEST: "bad request",
  BAD_SNAPSHOT: "snapshot is corrupt",
};

export class MvccError extends Error {
  readonly code: MvccErrorCode;
  constructor(code: MvccErrorCode, detail?: string) {
    super(detail === undefined ? MVCC_ERROR_MESSAGES[code] : `${MVCC_ERROR_MESSAGES[code]}: ${detail}`);
    this.name = "MvccError";
    this.code = code;
  }
}

/** etcd's lease.MaxLeaseTTL, in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;
/** etcd's embed.DefaultMaxTxnOps. */
export const DEFAULT_MAX_TXN_OPS = 128;
/** ceil(1.5 x the default 1 s election timeout), in seconds. */
export const DEFAULT_MIN_LEASE_TTL = 2;

export interface MvccStoreOptions {
  /** Per-level op limit for txns (etcd --max-txn-ops). Default 128. */
  maxTxnOps?: number;
  /** Leases granted with a shorter TTL (seconds) get this TTL. Must be equal on all members. */
  minLeaseTtl?: number;
}
