// MvccStore: the deterministic etcd v3 key-value state machine the Raft driver applies committed
// entries to. Every write op (put, delete, txn, lease revoke) is one revision when it changes
// something and none when it does not. No I/O, no clocks.
import { ChangeLog } from "./changelog.js";
import { type KeyHistory, KeyIndex, keyId, rangeBounds } from "./keyindex.js";
import { LeaseTable } from "./leases.js";
import type { Lessor } from "./lessor.js";
import { hashState, restoreState, snapshotState } from "./persist.js";
import { compareHolds, rangeAt } from "./read.js";
import {
  type CompactResponse,
  DEFAULT_MAX_TXN_OPS,
  DEFAULT_MIN_LEASE_TTL,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type HashKVResponse,
  type KeyValue,
  type LeaseGrantResponse,
  type LeaseId,
  type LeaseInfo,
  type LeaseRevokeResponse,
  MAX_LEASE_TTL,
  MvccError,
  type MvccStoreOptions,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from "./types.js";
import { validateDeleteRange, validatePut, validateRange, validateTxn } from "./validate.js";
import { WatchHub, type WatchSource } from "./watch.js";

const EMPTY = Buffer.alloc(0);
/** Rough per-record overhead for size(), approximating etcd's bbolt record cost. */
const RECORD_OVERHEAD = 64;
/** "After every write so far": a revision above anything stored. */
const LATEST = Number.MAX_SAFE_INTEGER;

/**
 * Ownership: the store keeps the key/value buffers it is given (keys are copied once when a key
 * is first created; values are not copied) and returns its internal KeyValue objects. Callers
 * must treat both as immutable.
 */
export class MvccStore implements WatchSource {
  /** @internal state, also read by persist.ts */
  index = new KeyIndex();
  readonly changes = new ChangeLog();
  /** @internal */
  leases = new LeaseTable();
  /** Histories holding more than one record: the only ones compaction has work on. */
  private dirty = new Set<KeyHistory>();
  private rev = 1;
  private compactRev = 0;
  private bytes = 0;
  /** Change-log position where the write in progress started; -1 when none. */
  private writeStart = -1;
  private lessor: Lessor | undefined;
  readonly maxTxnOps: number;
  readonly minLeaseTtl: number;
  /** Watchers on this store. */
  readonly watchHub: WatchHub;

  constructor(opts: MvccStoreOptions = {}) {
    this.maxTxnOps = opts.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
    this.minLeaseTtl = opts.minLeaseTtl ?? DEFAULT_MIN_LEASE_TTL;
    this.watchHub = new WatchHub(this);
  }

  /** Current revision; a fresh store is at 1, like etcd. */
  get revision(): number {
    return this.rev;
  }

  /** Highest compacted revision; 0 if never compacted. Reads below it fail with COMPACTED. */
  get compactRevision(): number {
    return this.compactRev;
  }

  /** Tells `lessor` about every grant and revoke from now on (and the leases that exist now). */
  attachLessor(lessor: Lessor): void {
    this.lessor = lessor;
    lessor.onReset(this.leases.sorted());
  }

  // ---- KV ----

  range(r: RangeRequest): RangeResponse {
    validateRange(r);
    return rangeAt(this.index, r, this.rev, this.compactRev);
  }

  put(r: PutRequest): PutResponse {
    validatePut(r);
    this.checkPut(r);
    this.beginWrite();
    const resp = this.applyPut(r);
    this.endWrite();
    return resp;
  }

  deleteRange(r: DeleteRangeRequest): DeleteRangeResponse {
    validateDeleteRange(r);
    this.beginWrite();
    const resp = this.applyDelete(r);
    this.endWrite();
    resp.revision = this.rev;
    return resp;
  }

  /**
   * etcd's Txn: all compares (nested ones too) are evaluated against the state before the txn;
   * then the chosen branches run in order as one revision, later ops seeing earlier writes.
   */
  txn(r: TxnRequest): TxnResponse {
    validateTxn(r, this.maxTxnOps);
    const decisions = new Map<TxnRequest, boolean>();
    this.decide(r, decisions);
    this.checkOps(r, decisions);
    this.beginWrite();
    const resp = this.applyTxn(r, decisions);
    this.endWrite();
    resp.revision = this.rev;
    return resp;
  }

  /** Compacts history below rev (physical and immediate). */
  compact(rev: number): CompactResponse {
    if (!Number.isSafeInteger(rev)) throw new MvccError("BAD_REQUEST", `bad revision ${rev}`);
    if (rev <= this.compactRev) throw new MvccError("COMPACTED");
    if (rev > this.rev) throw new MvccError("FUTURE_REV");
    this.compactTo(rev);
    return { revision: this.rev };
  }

  // ---- leases ----

  /**
   * Grants lease `id` (the proposer picks a non-zero id, as etcd's server does before proposing).
   * TTLs below minLeaseTtl are raised to it. Does not change the revision.
   */
  leaseGrant(id: LeaseId, ttl: number): LeaseGrantResponse {
    if (id === 0n) throw new MvccError("LEASE_NOT_FOUND");
    if (!Number.isSafeInteger(ttl)) throw new MvccError("BAD_REQUEST", `bad TTL ${ttl}`);
    if (ttl > MAX_LEASE_TTL) throw new MvccError("TTL_TOO_LARGE");
    if (this.leases.has(id)) throw new MvccError("LEASE_EXISTS");
    const granted = Math.max(ttl, this.minLeaseTtl);
    this.leases.add(id, granted);
    this.lessor?.onGrant(id, granted);
    return { revision: this.rev, id, ttl: granted };
  }

  /** Revokes a lease, deleting its keys (in key order) as one revision. */
  leaseRevoke(id: LeaseId): LeaseRevokeResponse {
    const lease = this.leases.get(id);
    if (lease === undefined) throw new MvccError("LEASE_NOT_FOUND");
    const keys = [...lease.keys].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.beginWrite();
    for (const h of keys) this.tombstone(h);
    this.leases.delete(id);
    this.endWrite();
    this.lessor?.onRevoke(id);
    return { revision: this.rev };
  }

  hasLease(id: LeaseId): boolean {
    return this.leases.has(id);
  }

  /** Granted TTL and attached keys (remaining TTL comes from the leader's Lessor). */
  leaseInfo(id: LeaseId): LeaseInfo {
    const lease = this.leases.get(id);
    if (lease === undefined) throw new MvccError("LEASE_NOT_FOUND");
    const keys = [...lease.keys].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((h) => h.key);
    return { id, grantedTtl: lease.ttl, keys };
  }

  /** All lease ids, ascending. */
  leaseIds(): LeaseId[] {
    return this.leases.sorted().map((l) => l.id);
  }

  // ---- maintenance ----

  /** crc32 over all kept records up to rev (0 = current). Same state => same hash. */
  hashKV(rev = 0): HashKVResponse {
    if (rev > 0 && rev < this.compactRev) throw new MvccError("COMPACTED");
    if (rev > this.rev) throw new MvccError("FUTURE_REV");
    const hash = hashState(this, rev > 0 ? rev : this.rev);
    return { revision: this.rev, hash, compactRevision: this.compactRev };
  }

  /** Estimated bytes of stored history, for quota checks and Status.dbSize. */
  size(): number {
    return this.bytes + 4096;
  }

  snapshot(): Uint8Array {
    return snapshotState(this, this.rev, this.compactRev);
  }

  /** A new store holding a snapshot's state. */
  static restore(data: Uint8Array, opts: MvccStoreOptions = {}): MvccStore {
    const s = new MvccStore(opts);
    s.restoreFrom(data);
    return s;
  }

  /**
   * Replaces this store's state with a snapshot's, keeping watchers (they re-sync from their
   * position, or get a compacted response) and the attached lessor.
   */
  restoreFrom(data: Uint8Array): void {
    const decoded = restoreState(data);
    this.index = new KeyIndex();
    this.changes.clear();
    this.leases = new LeaseTable();
    this.dirty = new Set();
    this.bytes = 0;
    for (const l of decoded.leases) this.leases.add(l.id, l.ttl);
    // Decoded keys are views into the image: records share their history's copy instead.
    for (const kv of decoded.base) {
      const h = this.index.obtain(keyId(kv.key), kv.key);
      kv.key = h.key;
      this.appendRecord(h, kv, undefined);
    }
    for (const kv of decoded.changes) {
      const h = this.index.obtain(keyId(kv.key), kv.key);
      kv.key = h.key;
      const last = h.last();
      this.appendRecord(h, kv, last !== undefined && last.version !== 0 ? last : undefined);
    }
    this.rev = decoded.revision;
    this.compactRev = 0;
    if (decoded.compactRevision > 0) this.compactTo(decoded.compactRevision);
    for (const h of this.index.all()) {
      const kv = h.last()!;
      if (kv.version !== 0 && kv.lease !== 0n) this.leases.attach(kv.lease, h);
    }
    this.lessor?.onReset(this.leases.sorted());
    this.watchHub.onRestore();
  }

  /** @internal for persist.ts: histories in key order. */
  histories(): IterableIterator<KeyHistory> {
    return this.index.all();
  }

  // ---- internals ----

  private beginWrite(): void {
    this.writeStart = this.changes.end;
  }

  /** Commits the write in progress: one new revision if anything changed. */
  private endWrite(): void {
    const from = this.writeStart;
    const to = this.changes.end;
    this.writeStart = -1;
    if (to === from) return;
    this.rev++;
    this.watchHub.notify(this.rev, from, to);
  }

  /** Revision the write in progress writes at. */
  private get writeRev(): number {
    return this.rev + 1;
  }

  /** Revision a read inside the write in progress sees (etcd: rev+1 once something changed). */
  private get readRev(): number {
    return this.changes.end > this.writeStart ? this.rev + 1 : this.rev;
  }

  private appendRecord(h: KeyHistory, kv: KeyValue, prev: KeyValue | undefined): void {
    h.recs.push(kv);
    if (h.recs.length > 1) this.dirty.add(h);
    this.changes.push(kv, prev);
    this.bytes += h.key.length + kv.value.length + RECORD_OVERHEAD;
  }

  /** etcd's checkRequestPut, against the state before the op. */
  private checkPut(r: PutRequest): void {
    if ((r.ignoreValue || r.ignoreLease) && this.index.get(keyId(r.key))?.at(LATEST) === undefined) {
      throw new MvccError("KEY_NOT_FOUND");
    }
    if (r.lease !== undefined && r.lease !== 0n && !this.leases.has(r.lease))
      throw new MvccError("LEASE_NOT_FOUND");
  }

  private applyPut(r: PutRequest): PutResponse {
    const id = keyId(r.key);
    const h = this.index.obtain(id, r.key);
    const last = h.last();
    const prev = last !== undefined && last.version !== 0 ? last : undefined;
    const rev = this.writeRev;
    // Validation guarantees prev exists when ignoring value or lease.
    const value = r.ignoreValue ? (prev?.value ?? EMPTY) : (r.value ?? EMPTY);
    const lease = r.ignoreLease ? (prev?.lease ?? 0n) : (r.lease ?? 0n);
    const kv: KeyValue = {
      key: h.key,
      createRevision: prev === undefined ? rev : prev.createRevision,
      modRevision: rev,
      version: prev === undefined ? 1 : prev.version + 1,
      value,
      lease,
    };
    this.appendRecord(h, kv, prev);
    if (prev !== undefined && prev.lease !== 0n) this.leases.detach(prev.lease, h);
    if (lease !== 0n) this.leases.attach(lease, h);
    const resp: PutResponse = { revision: rev };
    if (r.prevKv && prev !== undefined) resp.prevKv = prev;
    return resp;
  }

  private applyDelete(r: DeleteRangeRequest): DeleteRangeResponse {
    const doomed: KeyHistory[] = [];
    const { lo, hi } = rangeBounds(r.key, r.rangeEnd);
    if (hi === null) {
      const h = this.index.get(lo);
      if (h?.at(LATEST) !== undefined) doomed.push(h);
    } else {
      this.index.scan(lo, hi, (h) => {
        if (h.at(LATEST) !== undefined) doomed.push(h);
        return true;
      });
    }
    const prevKvs = r.prevKv ? doomed.map((h) => h.last()!) : [];
    for (const h of doomed) this.tombstone(h);
    return { revision: this.readRev, deleted: doomed.length, prevKvs };
  }

  private tombstone(h: KeyHistory): void {
    const prev = h.last()!;
    const tomb: KeyValue = {
      key: h.key,
      createRevision: 0,
      modRevision: this.writeRev,
      version: 0,
      value: EMPTY,
      lease: 0n,
    };
    this.appendRecord(h, tomb, prev);
    if (prev.lease !== 0n) this.leases.detach(prev.lease, h);
  }

  private decide(r: TxnRequest, out: Map<TxnRequest, boolean>): void {
    const rev = this.rev;
    const ok = (r.compare ?? []).every((c) => compareHolds(this.index, c, rev));
    out.set(r, ok);
    for (const op of (ok ? r.success : r.failure) ?? []) if (op.requestTxn) this.decide(op.requestTxn, out);
  }

  /** etcd's checkRequests: everything that could fail mid-txn is checked before the first write. */
  private checkOps(r: TxnRequest, decisions: Map<TxnRequest, boolean>): void {
    for (const op of (decisions.get(r) ? r.success : r.failure) ?? []) {
      if (op.requestTxn) this.checkOps(op.requestTxn, decisions);
      else if (op.requestPut) this.checkPut(op.requestPut);
      else if (op.requestRange) {
        const want = op.requestRange.revision ?? 0;
        if (want > this.rev) throw new MvccError("FUTURE_REV");
        if (want > 0 && want < this.compactRev) throw new MvccError("COMPACTED");
      }
    }
  }

  private applyTxn(r: TxnRequest, decisions: Map<TxnRequest, boolean>): TxnResponse {
    const succeeded = decisions.get(r)!;
    const responses: ResponseOp[] = [];
    for (const op of (succeeded ? r.success : r.failure) ?? []) responses.push(this.applyOp(op, decisions));
    return { revision: this.readRev, succeeded, responses };
  }

  private applyOp(op: RequestOp, decisions: Map<TxnRequest, boolean>): ResponseOp {
    if (op.requestRange)
      return { responseRange: rangeAt(this.index, op.requestRange, this.readRev, this.compactRev) };
    if (op.requestPut) return { responsePut: this.applyPut(op.requestPut) };
    if (op.requestDeleteRange) return { responseDeleteRange: this.applyDelete(op.requestDeleteRange) };
    return { responseTxn: this.applyTxn(op.requestTxn!, decisions) };
  }

  private compactTo(rev: number): void {
    for (const h of this.dirty) {
      const dropped = h.compact(rev);
      for (const kv of dropped) this.bytes -= h.key.length + kv.value.length + RECORD_OVERHEAD;
      if (h.recs.length <= 1) this.dirty.delete(h);
      if (h.recs.length === 0) this.index.remove(h.id);
    }
    this.changes.compact(rev);
    this.compactRev = rev;
  }
}
