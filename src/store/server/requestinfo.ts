// What the server needs to know about a request before proposing it: its quota cost (etcd's
// etcdserver/quota.go), and whether a txn writes at all or may be served as a (serializable) read.
import type { PutRequest, RequestOp, TxnRequest } from "../mvcc/types.js";

/** etcd quota costs (etcdserver/quota.go). */
export const KV_OVERHEAD = 256;
export const LEASE_OVERHEAD = 64;

export function putCost(r: PutRequest): number {
  return KV_OVERHEAD + r.key.byteLength + (r.value?.byteLength ?? 0);
}

export function txnCost(r: TxnRequest): number {
  const branch = (ops: TxnRequest["success"]) =>
    (ops ?? []).reduce((sum, op) => sum + (op.requestPut ? putCost(op.requestPut) : 0), 0);
  return Math.max(branch(r.success), branch(r.failure));
}

export function isTxnSerializable(r: TxnRequest): boolean {
  const ops = [...(r.success ?? []), ...(r.failure ?? [])];
  return ops.every((op) => op.requestRange?.serializable === true);
}

/** Whether any branch (nested too) of the txn writes a key (etcd's capped applier check). */
export function txnHasPut(r: TxnRequest): boolean {
  const ops = (list: RequestOp[] | undefined) =>
    (list ?? []).some(
      (op) => op.requestPut !== undefined || (op.requestTxn !== undefined && txnHasPut(op.requestTxn)),
    );
  return ops(r.success) || ops(r.failure);
}

/** Whether a txn writes anything at all; a txn that does not is served as a read. */
export function txnIsReadOnly(r: TxnRequest): boolean {
  const ok = (list: RequestOp[] | undefined): boolean =>
    (list ?? []).every(
      (op) =>
        op.requestRange !== undefined ||
        (op.requestTxn !== undefined && ok(op.requestTxn.success) && ok(op.requestTxn.failure)),
    );
  return ok(r.success) && ok(r.failure);
}
