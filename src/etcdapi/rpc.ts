// What every handler shares: the service and limits, the `hasleader` metadata check etcd's
// interceptors do, and the wrapper that turns any thrown error (or bug) into a gRPC status
// instead of a crash.
import type { handleUnaryCall, Metadata } from "@grpc/grpc-js";
import type { KvService } from "../store/server/types.js";
import type { Wire } from "./codec.js";
import { EtcdError, toStatus } from "./errors.js";

export interface ApiContext {
  service: KvService;
  /** etcd --max-txn-ops. */
  maxTxnOps: number;
  /** etcd --max-request-bytes: the gRPC receive limit is this plus 512 KiB, as etcd. */
  maxRequestBytes: number;
  /** Streams opened with `hasleader`: ended with "no leader" when the leader stays gone. */
  leaderStreams: Set<(err: EtcdError) => void>;
}

/** etcd's rpctypes.MetadataRequireLeaderKey / MetadataHasLeader. */
export function requiresLeader(md: Metadata): boolean {
  return md.get("hasleader")[0] === "true";
}

export function checkLeader(ctx: ApiContext, call: { metadata: Metadata }): void {
  if (requiresLeader(call.metadata) && !ctx.service.hasLeader()) throw EtcdError.of("NoLeader");
}

/** A unary handler: checks `hasleader`, runs fn, answers its result or its error's status. */
export function unary(ctx: ApiContext, fn: (req: Wire) => Promise<Wire> | Wire): handleUnaryCall<Wire, Wire> {
  return (call, callback) => {
    let result: Promise<Wire>;
    try {
      checkLeader(ctx, call);
      result = Promise.resolve(fn(call.request ?? {}));
    } catch (err) {
      callback(toStatus(err));
      return;
    }
    result.then(
      (resp) => callback(null, resp),
      (err: unknown) => callback(toStatus(err)),
    );
  };
}
