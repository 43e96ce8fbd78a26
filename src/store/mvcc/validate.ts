// Request checks etcd performs before proposing (v3rpc/key.go): empty keys, ignore_value /
// ignore_lease conflicts, txn op limits and overlapping writes inside one txn. The store runs them
// again on apply so a bad entry can never leave a txn half applied.
import { keyId } from "./keyindex.js";
import {
  type DeleteRangeRequest,
  MvccError,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
} from "./types.js";

export function validateRange(r: RangeRequest): void {
  if (r.key === undefined || r.key.length === 0) throw new MvccError("EMPTY_KEY");
}

export function validatePut(r: PutRequest): void {
  if (r.key === undefined || r.key.length === 0) throw new MvccError("EMPTY_KEY");
  if (r.ignoreValue && r.value !== undefined && r.value.length !== 0) throw new MvccError("VALUE_PROVIDED");
  if (r.ignoreLease && r.lease !== undefined && r.lease !== 0n) throw new MvccError("LEASE_PROVIDED");
}

export function validateDeleteRange(r: DeleteRangeRequest): void {
  if (r.key === undefined || r.key.length === 0) throw new MvccError("EMPTY_KEY");
}

/**
 * etcd's checkTxnRequest + checkIntervals. The op limit applies per level: the largest of
 * compare/success/failure counts must not exceed maxTxnOps, and a nested txn gets what is left.
 */
export function validateTxn(r: TxnRequest, maxTxnOps: number): void {
  checkTxnShape(r, maxTxnOps);
  checkIntervals(r.success ?? []);
  checkIntervals(r.failure ?? []);
}

function checkTxnShape(r: TxnRequest, maxTxnOps: number): void {
  const compare = r.compare ?? [];
  const success = r.success ?? [];
  const failure = r.failure ?? [];
  const opc = Math.max(compare.length, success.length, failure.length);
  if (opc > maxTxnOps) throw new MvccError("TOO_MANY_OPS");
  for (const c of compare) {
    if (c.key === undefined || c.key.length === 0) throw new MvccError("EMPTY_KEY");
  }
  for (const op of success) checkRequestOp(op, maxTxnOps - opc);
  for (const op of failure) checkRequestOp(op, maxTxnOps - opc);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  if (op.requestRange) validateRange(op.requestRange);
  else if (op.requestPut) validatePut(op.requestPut);
  else if (op.requestDeleteRange) validateDeleteRange(op.requestDeleteRange);
  else if (op.requestTxn) checkTxnShape(op.requestTxn, maxTxnOps);
  // etcd answers an empty RequestOp with ErrGRPCKeyNotFound.
  else throw new MvccError("KEY_NOT_FOUND");
}

/** A delete's interval [lo, hi); hi "" is unbounded, as in etcd's string-affine intervals. */
interface Interval {
  lo: string;
  hi: string;
}

function intersectsPoint(dels: Interval[], k: string): boolean {
  for (const d of dels) {
    if (d.hi === "") {
      if (k >= d.lo) return true;
    } else if (k >= d.lo && k < d.hi) return true;
  }
  return false;
}

/**
 * Rejects a txn level whose puts collide with each other or with a delete range, looking into
 * nested txns; a key put in both branches of one nested txn is fine (only one branch runs).
 * Unlike etcd 3.4 (which compares a "\0" rangeEnd literally, so a from-key delete never
 * collides), a from-key delete covers every key after it here: that way no put with
 * ignore_value/ignore_lease can follow a delete of its key, and a txn that passed its checks
 * cannot fail half way.
 */
function checkIntervals(reqs: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const req of reqs) {
    const d = req.requestDeleteRange;
    if (!d) continue;
    const lo = keyId(d.key);
    const end = d.rangeEnd;
    if (end === undefined || end.length === 0) dels.push({ lo, hi: lo + "\0" });
    else if (end.length === 1 && end[0] === 0) dels.push({ lo, hi: "" });
    else dels.push({ lo, hi: keyId(end) });
  }
  const puts = new Set<string>();
  for (const req of reqs) {
    const t = req.requestTxn;
    if (!t) continue;
    const thenSide = checkIntervals(t.success ?? []);
    const elseSide = checkIntervals(t.failure ?? []);
    for (const k of thenSide.puts) {
      if (puts.has(k) || intersectsPoint(dels, k)) throw new MvccError("DUPLICATE_KEY");
      puts.add(k);
    }
    for (const k of elseSide.puts) {
      if (puts.has(k) && !thenSide.puts.has(k)) throw new MvccError("DUPLICATE_KEY");
      if (intersectsPoint(dels, k)) throw new MvccError("DUPLICATE_KEY");
      puts.add(k);
    }
    dels.push(...thenSide.dels, ...elseSide.dels);
  }
  for (const req of reqs) {
    const p = req.requestPut;
    if (!p) continue;
    const k = keyId(p.key);
    if (puts.has(k) || intersectsPoint(dels, k)) throw new MvccError("DUPLICATE_KEY");
    puts.add(k);
  }
  return { puts, dels };
}
