// etcd's request checks done in the gRPC layer before a request reaches the server
// (etcd api/v3rpc/key.go): empty keys, ignore_value/ignore_lease misuse, txn op limits, and
// puts that overlap other puts or deletes in the same txn.
import type {
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from "../store/mvcc/types.js";
import { EtcdError } from "./errors.js";

export function checkRange(r: RangeRequest): void {
  if (r.key.length === 0) throw EtcdError.of("EmptyKey");
}

export function checkPut(r: PutRequest): void {
  if (r.key.length === 0) throw EtcdError.of("EmptyKey");
  if (r.ignoreValue && (r.value?.length ?? 0) !== 0) throw EtcdError.of("ValueProvided");
  if (r.ignoreLease && (r.lease ?? 0n) !== 0n) throw EtcdError.of("LeaseProvided");
}

export function checkDelete(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw EtcdError.of("EmptyKey");
}

/** etcd counts ops per level: max(compares, success, failure) against maxTxnOps. */
export function checkTxn(r: TxnRequest, maxTxnOps: number): void {
  const compares = r.compare ?? [];
  const success = r.success ?? [];
  const failure = r.failure ?? [];
  const ops = Math.max(compares.length, success.length, failure.length);
  if (ops > maxTxnOps) throw EtcdError.of("TooManyOps");
  for (const c of compares) if (c.key.length === 0) throw EtcdError.of("EmptyKey");
  for (const op of success) checkOp(op, maxTxnOps - ops);
  for (const op of failure) checkOp(op, maxTxnOps - ops);
}

function checkOp(op: RequestOp, maxTxnOps: number): void {
  if (op.requestRange) checkRange(op.requestRange);
  else if (op.requestPut) checkPut(op.requestPut);
  else if (op.requestDeleteRange) checkDelete(op.requestDeleteRange);
  else if (op.requestTxn) checkTxn(op.requestTxn, maxTxnOps);
  else throw EtcdError.of("KeyNotFound");
}

/** A delete's key interval [start, end); `end` undefined means unbounded. */
interface Interval {
  start: Uint8Array;
  end: Uint8Array | undefined;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function pointInterval(key: Uint8Array): Interval {
  const end = new Uint8Array(key.length + 1);
  end.set(key);
  return { start: key, end };
}

/**
 * etcd's adt string-affine intervals: an empty end is +infinity, every other end (also the
 * single zero byte of a from-key delete) is compared as bytes, so a from-key delete overlaps no
 * put there. Copied as is, because clients see the difference.
 */
function deleteInterval(d: DeleteRangeRequest): Interval {
  if (d.rangeEnd && d.rangeEnd.length !== 0) return { start: d.key, end: d.rangeEnd };
  return pointInterval(d.key);
}

function contains(iv: Interval, key: Uint8Array): boolean {
  return compareBytes(iv.start, key) <= 0 && (iv.end === undefined || compareBytes(key, iv.end) < 0);
}

function hits(dels: Interval[], key: Uint8Array): boolean {
  return dels.some((iv) => contains(iv, key));
}

const hex = (k: Uint8Array) => Buffer.from(k).toString("hex");

/**
 * Rejects a txn branch whose puts overlap each other or a delete, looking into nested txns,
 * where a key put in both the then and else branch of one nested txn is allowed. Returns the
 * branch's puts and deletes for the level above.
 */
export function checkIntervals(ops: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) if (op.requestDeleteRange) dels.push(deleteInterval(op.requestDeleteRange));

  const puts = new Set<string>();
  for (const op of ops) {
    if (!op.requestTxn) continue;
    const then = checkIntervals(op.requestTxn.success ?? []);
    const otherwise = checkIntervals(op.requestTxn.failure ?? []);
    for (const k of then.puts) {
      if (puts.has(k) || hits(dels, Buffer.from(k, "hex"))) throw EtcdError.of("DuplicateKey");
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw EtcdError.of("DuplicateKey");
      if (hits(dels, Buffer.from(k, "hex"))) throw EtcdError.of("DuplicateKey");
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }

  for (const op of ops) {
    if (!op.requestPut) continue;
    const k = hex(op.requestPut.key);
    if (puts.has(k) || hits(dels, op.requestPut.key)) throw EtcdError.of("DuplicateKey");
    puts.add(k);
  }
  return { puts, dels };
}
