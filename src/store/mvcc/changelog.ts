// Every change since the compact revision, in revision order (sub-revision order within a txn).
// Watchers catch up from here. Records are shared with the key index, so this costs two array
// slots per change.
import type { KeyValue } from "./types.js";

export class ChangeLog {
  /** The changed record: a put's new KeyValue, or a tombstone (version 0) for a delete. */
  private recs: KeyValue[] = [];
  /** The key's live version just before the change, if any (prevKv). */
  private prevs: (KeyValue | undefined)[] = [];
  /** Entries below this index are compacted away but not yet spliced out. */
  private start = 0;

  /** Absolute position of the next append; positions stay valid until the next compaction. */
  get end(): number {
    return this.recs.length;
  }

  get first(): number {
    return this.start;
  }

  push(kv: KeyValue, prev: KeyValue | undefined): void {
    this.recs.push(kv);
    this.prevs.push(prev);
  }

  rec(i: number): KeyValue {
    return this.recs[i]!;
  }

  prev(i: number): KeyValue | undefined {
    return this.prevs[i];
  }

  /** Position of the first change with modRevision >= rev. */
  seek(rev: number): number {
    let lo = this.start;
    let hi = this.recs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.recs[mid]!.modRevision < rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Forgets changes below rev. The prevKv of changes at rev itself is dropped too: etcd reads
   * it at rev-1, which is compacted.
   */
  compact(rev: number): void {
    const from = this.seek(rev);
    this.start = from;
    for (let i = from; i < this.recs.length && this.recs[i]!.modRevision === rev; i++)
      this.prevs[i] = undefined;
    // Splice lazily so repeated compactions stay amortised O(dropped).
    if (this.start > 4096 && this.start * 2 > this.recs.length) {
      this.recs.splice(0, this.start);
      this.prevs.splice(0, this.start);
      this.start = 0;
    }
  }

  clear(): void {
    this.recs = [];
    this.prevs = [];
    this.start = 0;
  }
}
