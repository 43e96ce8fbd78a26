// etcd's gRPC errors (etcd api/v3rpc/rpctypes/error.go): status code plus exact message. The
// Go client maps errors back by message string, so the text must match byte for byte.
// StoreError already carries etcd's code and text; everything else is mapped here.
import { Metadata, status as Status, type StatusObject } from "@grpc/grpc-js";
import { MvccError } from "../store/mvcc/types.js";
import { StoreError, toStoreError } from "../store/server/errors.js";
import { BadEnumError } from "./codec.js";

interface EtcdErrorSpec {
  code: Status;
  message: string;
}

/** The rpctypes errors this layer produces itself (the store's own come as StoreError). */
export const ETCD_ERRORS = {
  EmptyKey: { code: Status.INVALID_ARGUMENT, message: "etcdserver: key is not provided" },
  KeyNotFound: { code: Status.INVALID_ARGUMENT, message: "etcdserver: key not found" },
  ValueProvided: { code: Status.INVALID_ARGUMENT, message: "etcdserver: value is provided" },
  LeaseProvided: { code: Status.INVALID_ARGUMENT, message: "etcdserver: lease is provided" },
  TooManyOps: { code: Status.INVALID_ARGUMENT, message: "etcdserver: too many operations in txn request" },
  DuplicateKey: { code: Status.INVALID_ARGUMENT, message: "etcdserver: duplicate key given in txn request" },
  Compacted: { code: Status.OUT_OF_RANGE, message: "etcdserver: mvcc: required revision has been compacted" },
  FutureRev: {
    code: Status.OUT_OF_RANGE,
    message: "etcdserver: mvcc: required revision is a future revision",
  },
  LeaseNotFound: { code: Status.NOT_FOUND, message: "etcdserver: requested lease not found" },
  WatchCanceled: { code: Status.CANCELLED, message: "etcdserver: watch canceled" },
  MemberBadURLs: { code: Status.INVALID_ARGUMENT, message: "etcdserver: given member URLs are invalid" },
  MemberNotFound: { code: Status.NOT_FOUND, message: "etcdserver: member not found" },
  RequestTooLarge: { code: Status.INVALID_ARGUMENT, message: "etcdserver: request is too large" },
  UserEmpty: { code: Status.INVALID_ARGUMENT, message: "etcdserver: user name is empty" },
  UserNotFound: { code: Status.FAILED_PRECONDITION, message: "etcdserver: user name not found" },
  RoleEmpty: { code: Status.INVALID_ARGUMENT, message: "etcdserver: role name is empty" },
  RoleNotFound: { code: Status.FAILED_PRECONDITION, message: "etcdserver: role name not found" },
  RootUserNotExist: { code: Status.FAILED_PRECONDITION, message: "etcdserver: root user does not exist" },
  AuthNotEnabled: { code: Status.FAILED_PRECONDITION, message: "etcdserver: authentication is not enabled" },
  NoLeader: { code: Status.UNAVAILABLE, message: "etcdserver: no leader" },
  NotLeader: { code: Status.FAILED_PRECONDITION, message: "etcdserver: not leader" },
  BadLeaderTransferee: { code: Status.FAILED_PRECONDITION, message: "etcdserver: bad leader transferee" },
  InvalidSortOption: { code: Status.INVALID_ARGUMENT, message: "etcdserver: invalid sort option" },
} as const satisfies Record<string, EtcdErrorSpec>;

export type EtcdErrorName = keyof typeof ETCD_ERRORS;

/** An error this layer answers with: a gRPC status code and etcd's message. */
export class EtcdError extends Error {
  readonly code: Status;
  constructor(code: Status, message: string) {
    super(message);
    this.name = "EtcdError";
    this.code = code;
  }

  static of(name: EtcdErrorName): EtcdError {
    const spec: EtcdErrorSpec = ETCD_ERRORS[name];
    return new EtcdError(spec.code, spec.message);
  }
}

/** The watch-stream cancel reasons etcd's mvcc layer gives (mvcc/watcher.go). */
export const WATCH_CANCEL_REASONS = {
  emptyRange: "mvcc: watcher range is empty",
  duplicateId: "mvcc: duplicate watch ID provided on the WatchStream",
} as const;

/**
 * The gRPC status for any error a handler throws. Store and etcd errors keep their code and
 * message; anything else is a bug in kite and becomes INTERNAL (never a crash).
 */
export function toStatus(err: unknown): Partial<StatusObject> {
  const e = toStoreError(err);
  if (e instanceof StoreError)
    return { code: e.grpcCode as Status, details: e.message, metadata: new Metadata() };
  if (e instanceof EtcdError) return { code: e.code, details: e.message, metadata: new Metadata() };
  if (e instanceof BadEnumError)
    return { code: Status.INVALID_ARGUMENT, details: e.message, metadata: new Metadata() };
  if (e instanceof MvccError) return { code: Status.UNKNOWN, details: e.message, metadata: new Metadata() };
  const message = e instanceof Error ? e.message : String(e);
  return { code: Status.INTERNAL, details: `kite: internal error: ${message}`, metadata: new Metadata() };
}

/** Whether the store reported that a lease does not exist (keep-alive answers TTL 0 for it). */
export function isLeaseNotFound(err: unknown): boolean {
  const e = toStoreError(err);
  return e instanceof StoreError && e.code === "LeaseNotFound";
}
