// The KV service and the Lease service's unary calls (etcd api/v3rpc/key.go, lease.go).
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import * as codec from "./codec.js";
import { type ApiContext, unary } from "./rpc.js";
import { checkDelete, checkIntervals, checkPut, checkRange, checkTxn } from "./validate.js";

export function kvService(ctx: ApiContext): UntypedServiceImplementation {
  const svc = ctx.service;
  return {
    Range: unary(ctx, async (w) => {
      const req = codec.rangeRequest(w);
      checkRange(req);
      const res = await svc.range(req);
      return { header: codec.header(res.header), ...codec.rangeBody(res) };
    }),
    Put: unary(ctx, async (w) => {
      const req = codec.putRequest(w);
      checkPut(req);
      const res = await svc.put(req);
      return { header: codec.header(res.header), prev_kv: res.prevKv ? codec.keyValue(res.prevKv) : null };
    }),
    DeleteRange: unary(ctx, async (w) => {
      const req = codec.deleteRangeRequest(w);
      checkDelete(req);
      const res = await svc.deleteRange(req);
      return {
        header: codec.header(res.header),
        deleted: String(res.deleted),
        prev_kvs: res.prevKvs.map(codec.keyValue),
      };
    }),
    Txn: unary(ctx, async (w) => {
      const req = codec.txnRequest(w);
      checkTxn(req, ctx.maxTxnOps);
      // After the cheap checks, as etcd, so a huge txn cannot make this quadratic first.
      checkIntervals(req.success ?? []);
      checkIntervals(req.failure ?? []);
      const res = await svc.txn(req);
      return {
        header: codec.header(res.header),
        succeeded: res.succeeded,
        responses: res.responses.map(codec.responseOp),
      };
    }),
    Compact: unary(ctx, async (w) => {
      const res = await svc.compact({
        revision: codec.intField(w.revision),
        physical: codec.boolField(w.physical),
      });
      return { header: codec.header(res.header) };
    }),
  };
}

export function leaseUnaryCalls(ctx: ApiContext): UntypedServiceImplementation {
  const svc = ctx.service;
  return {
    LeaseGrant: unary(ctx, async (w) => {
      const res = await svc.leaseGrant({ ttl: codec.intField(w.TTL), id: codec.bigField(w.ID) });
      return { header: codec.header(res.header), ID: res.id.toString(), TTL: String(res.ttl), error: "" };
    }),
    LeaseRevoke: unary(ctx, async (w) => {
      const res = await svc.leaseRevoke(codec.bigField(w.ID));
      return { header: codec.header(res.header) };
    }),
    LeaseTimeToLive: unary(ctx, async (w) => {
      const res = await svc.leaseTimeToLive(codec.bigField(w.ID), codec.boolField(w.keys));
      return {
        header: codec.header(res.header),
        ID: res.id.toString(),
        TTL: String(res.ttl),
        grantedTTL: String(res.grantedTtl),
        keys: res.keys,
      };
    }),
    LeaseLeases: unary(ctx, async () => {
      const res = await svc.leaseLeases();
      return { header: codec.header(res.header), leases: res.leases.map((id) => ({ ID: id.toString() })) };
    }),
  };
}
