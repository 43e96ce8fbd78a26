// Errors the store server throws at its callers. Each carries a stable code and etcd's exact
// message text plus the gRPC status code etcd answers with, because etcd clients map errors
// back by message string (etcd api/v3rpc/rpctypes/error.go).
import { MvccError, type MvccErrorCode } from "../mvcc/types.js";

/** gRPC status codes used below (numeric values from the gRPC spec). */
export const GrpcCode = {
  Canceled: 1,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  FailedPrecondition: 9,
  ResourceExhausted: 8,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
} as const;

interface ErrorSpec {
  grpc: number;
  message: string;
}

export const STORE_ERRORS = {
  EmptyKey: { grpc: GrpcCode.InvalidArgument, message: "etcdserver: key is not provided" },
  KeyNotFound: { grpc: GrpcCode.InvalidArgument, message: "etcdserver: key not found" },
  ValueProvided: { grpc: GrpcCode.InvalidArgument, message: "etcdserver: value is provided" },
  LeaseProvided: { grpc: GrpcCode.InvalidArgument, message: "etcdserver: lease is provided" },
  TooManyOps: { grpc: GrpcCode.InvalidArgument, message: "etcdserver: too many operations in txn request" },
  DuplicateKey: { grpc: GrpcCode.InvalidArgument, message: "etcdserver: duplicate key given in txn request" },
  InvalidSortOption: { grpc: GrpcCode.InvalidArgument, message: "etcdserver: invalid sort option" },
  Compacted: { grpc: GrpcCode.OutOfRange, message: "etcdserver: mvcc: required revision has been compacted" },
  FutureRev: {
    grpc: GrpcCode.OutOfRange,
    message: "etcdserver: mvcc: required revision is a future revision",
  },
  NoSpace: { grpc: GrpcCode.ResourceExhausted, message: "etcdserver: mvcc: database space exceeded" },
  LeaseNotFound: { grpc: GrpcCode.NotFound, message: "etcdserver: requested lease not found" },
  LeaseExist: { grpc: GrpcCode.FailedPrecondition, message: "etcdserver: lease already exists" },
  LeaseTTLTooLarge: { grpc: GrpcCode.OutOfRange, message: "etcdserver: too large lease TTL" },
  RequestTooLarge: { grpc: GrpcCode.InvalidArgument, message: "etcdserver: request is too large" },
  TooManyRequests: { grpc: GrpcCode.ResourceExhausted, message: "etcdserver: too many requests" },
  NoLeader: { grpc: GrpcCode.Unavailable, message: "etcdserver: no leader" },
  NotLeader: { grpc: GrpcCode.FailedPrecondition, message: "etcdserver: not leader" },
  LeaderChanged: { grpc: GrpcCode.Unavailable, message: "etcdserver: leader changed" },
  Stopped: { grpc: GrpcCode.Unavailable, message: "etcdserver: server stopped" },
  Timeout: { grpc: GrpcCode.Unavailable, message: "etcdserver: request timed out" },
  TimeoutDueToLeaderFail: {
    grpc: GrpcCode.Unavailable,
    message: "etcdserver: request timed out, possibly due to previous leader failure",
  },
  Corrupt: { grpc: GrpcCode.DataLoss, message: "etcdserver: corrupt cluster" },
  NotSupportedForLearner: {
    grpc: GrpcCode.FailedPrecondition,
    message: "etcdserver: rpc not supported for learner",
  },
  MemberNotFound: { grpc: GrpcCode.NotFound, message: "etcdserver: member not found" },
  MemberExist: { grpc: GrpcCode.FailedPrecondition, message: "etcdserver: member ID already exist" },
  PeerURLExist: { grpc: GrpcCode.FailedPrecondition, message: "etcdserver: Peer URLs already exists" },
  MemberBadURLs: { grpc: GrpcCode.InvalidArgument, message: "etcdserver: given member URLs are invalid" },
  MemberNotLearner: {
    grpc: GrpcCode.FailedPrecondition,
    message: "etcdserver: can only promote a learner member",
  },
  LearnerNotReady: {
    grpc: GrpcCode.FailedPrecondition,
    message: "etcdserver: can only promote a learner member which is in sync with leader",
  },
  TooManyLearners: {
    grpc: GrpcCode.FailedPrecondition,
    message: "etcdserver: too many learner members in cluster",
  },
  MemberNotEnoughStarted: {
    grpc: GrpcCode.FailedPrecondition,
    message: "etcdserver: re-configuration failed due to not enough started members",
  },
  BadLeaderTransferee: { grpc: GrpcCode.FailedPrecondition, message: "etcdserver: bad leader transferee" },
  TimeoutLeaderTransfer: {
    grpc: GrpcCode.Unavailable,
    message: "etcdserver: request timed out, leader transfer took too long",
  },
  Unhealthy: { grpc: GrpcCode.Unavailable, message: "etcdserver: unhealthy cluster" },
  /** etcd answers requests to a member removed from the cluster with ErrStopped-like failures. */
  MemberRemoved: {
    grpc: GrpcCode.Unavailable,
    message: "etcdserver: the member has been permanently removed from the cluster",
  },
  NotCapable: { grpc: GrpcCode.FailedPrecondition, message: "etcdserver: not capable" },
  Canceled: { grpc: GrpcCode.Canceled, message: "etcdserver: request canceled" },
  /** Bad input none of etcd's checks names; the message is the detail given. */
  BadRequest: { grpc: GrpcCode.InvalidArgument, message: "etcdserver: bad request" },
} as const satisfies Record<string, ErrorSpec>;

export type StoreErrorCode = keyof typeof STORE_ERRORS;

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** The gRPC status code etcd uses for this error. */
  readonly grpcCode: number;

  constructor(code: StoreErrorCode, detail?: string) {
    const spec: ErrorSpec = STORE_ERRORS[code];
    // The message must stay etcd's exact text; detail goes to a separate field for logs.
    super(code === "BadRequest" && detail !== undefined ? detail : spec.message);
    this.name = "StoreError";
    this.code = code;
    this.grpcCode = spec.grpc;
    if (detail !== undefined) this.detail = detail;
  }

  detail?: string;
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}

const FROM_MVCC: Record<MvccErrorCode, StoreErrorCode> = {
  COMPACTED: "Compacted",
  FUTURE_REV: "FutureRev",
  LEASE_NOT_FOUND: "LeaseNotFound",
  LEASE_EXISTS: "LeaseExist",
  TTL_TOO_LARGE: "LeaseTTLTooLarge",
  NOT_PRIMARY: "NotLeader",
  TOO_MANY_OPS: "TooManyOps",
  DUPLICATE_KEY: "DuplicateKey",
  KEY_NOT_FOUND: "KeyNotFound",
  EMPTY_KEY: "EmptyKey",
  VALUE_PROVIDED: "ValueProvided",
  LEASE_PROVIDED: "LeaseProvided",
  WATCH_NOT_FOUND: "BadRequest",
  BAD_REQUEST: "BadRequest",
  BAD_SNAPSHOT: "Corrupt",
};

/** Turns a state-machine error into the StoreError callers see; other errors pass through. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof MvccError) return new StoreError(FROM_MVCC[err.code], err.message);
  return err;
}
