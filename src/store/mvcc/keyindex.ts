// The in-memory key index: key -> its revision history, ordered by key bytes for range scans.
// Keys are indexed by their latin1 string form: one JS char per byte, so string order equals
// unsigned byte order and point lookups can use a hash map.
import sortedBtree from "sorted-btree";
import type { Bytes, KeyValue } from "./types.js";

/** The latin1 string of a key: byte-order preserving, usable as a Map key. */
export function keyId(key: Bytes): string {
  const buf = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return buf.toString("latin1");
}

export function idToKey(id: string): Buffer {
  return Buffer.from(id, "latin1");
}

/** A record with version 0 is a tombstone: the key was deleted at its modRevision. */
export function isTombstone(kv: KeyValue): boolean {
  return kv.version === 0;
}

/**
 * Every kept version of one key, oldest first (modRevision non-decreasing; two records may share a
 * main revision when one txn deletes and re-puts the key). Tombstones end a generation.
 */
export class KeyHistory {
  readonly recs: KeyValue[] = [];
  constructor(
    readonly id: string,
    readonly key: Buffer,
  ) {}

  /** The live version visible at `rev`, or undefined if the key did not exist then. */
  at(rev: number): KeyValue | undefined {
    const recs = this.recs;
    let hi = recs.length - 1;
    if (hi < 0) return undefined;
    // Fast path: most reads are at the current revision or the key has a single version.
    if (recs[hi]!.modRevision <= rev) return recs[hi]!.version === 0 ? undefined : recs[hi];
    let lo = 0;
    // Find the last record with modRevision <= rev.
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (recs[mid]!.modRevision <= rev) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi < 0) return undefined;
    const kv = recs[hi]!;
    return kv.version === 0 ? undefined : kv;
  }

  /** The newest record (live or tombstone). */
  last(): KeyValue | undefined {
    return this.recs[this.recs.length - 1];
  }

  /**
   * Drops versions superseded at `rev`: keeps the newest record at or below rev unless it is a
   * tombstone, and everything above. Returns the dropped records.
   */
  compact(rev: number): KeyValue[] {
    const recs = this.recs;
    let keepFrom = 0;
    while (keepFrom < recs.length && recs[keepFrom]!.modRevision <= rev) keepFrom++;
    // keepFrom now indexes the first record above rev; keep the one before it when live.
    if (keepFrom > 0 && recs[keepFrom - 1]!.version !== 0) keepFrom--;
    return keepFrom === 0 ? [] : recs.splice(0, keepFrom);
  }
}

// sorted-btree is CommonJS: under Node ESM its default export is module.exports.
const BTree = sortedBtree.default;

const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Ordered map id -> KeyHistory, with an O(1) point lookup on the side. */
export class KeyIndex {
  private readonly tree = new BTree<string, KeyHistory>(undefined, compareIds);
  private readonly byId = new Map<string, KeyHistory>();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): KeyHistory | undefined {
    return this.byId.get(id);
  }

  /** Returns the history for id, creating it (with a private copy of the key bytes) if new. */
  obtain(id: string, key: Bytes): KeyHistory {
    let h = this.byId.get(id);
    if (h === undefined) {
      h = new KeyHistory(id, Buffer.from(key));
      this.byId.set(id, h);
      this.tree.set(id, h);
    }
    return h;
  }

  remove(id: string): void {
    if (this.byId.delete(id)) this.tree.delete(id);
  }

  /**
   * Visits histories with lo <= id < hi in key order (hi undefined = no upper bound) until
   * `visit` returns false.
   */
  scan(lo: string, hi: string | undefined, visit: (h: KeyHistory) => boolean | undefined): void {
    if (hi !== undefined && hi <= lo) return;
    const tree = this.tree;
    if (tree.size === 0) return;
    const max = tree.maxKey()!;
    const top = hi === undefined || hi > max ? max : hi;
    const includeTop = hi === undefined || hi > max;
    tree.forRange(lo, top, includeTop, (_k, h) => {
      if (visit(h) === false) return { break: true };
      return undefined;
    });
  }

  /** All histories in key order. */
  all(): IterableIterator<KeyHistory> {
    return this.tree.values();
  }
}

/**
 * Resolves etcd range encoding to [lo, hi): hi undefined = unbounded; null = single key.
 * rangeEnd = "\0" means "all keys >= key".
 */
export function rangeBounds(
  key: Bytes,
  rangeEnd: Bytes | undefined,
): { lo: string; hi: string | undefined | null } {
  const lo = keyId(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { lo, hi: null };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { lo, hi: undefined };
  return { lo, hi: keyId(rangeEnd) };
}
