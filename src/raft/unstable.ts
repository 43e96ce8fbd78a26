// The tail of the log not yet handed to stable storage: entries (and possibly a snapshot)
// that the next Ready asks the driver to persist. `offset` is the index of entries[0];
// entries below offsetInProgress have been handed out in a Ready but not yet acknowledged
// by advance().

import type { Entry, Snapshot } from "./types.js";
import { limitSize } from "./util.js";

export class Unstable {
  snapshot: Snapshot | undefined;
  snapshotInProgress = false;
  entries: Entry[] = [];
  offset: number;
  offsetInProgress: number;

  constructor(offset: number) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === i)
        return this.snapshot.metadata.term;
      return undefined;
    }
    const k = i - this.offset;
    return k < this.entries.length ? this.entries[k].term : undefined;
  }

  /** Entries not yet handed out for persisting. */
  nextEntries(): Entry[] {
    const start = this.offsetInProgress - this.offset;
    return start >= this.entries.length ? [] : this.entries.slice(start);
  }

  hasNextEntries(): boolean {
    return this.offsetInProgress - this.offset < this.entries.length;
  }

  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Marks everything currently unstable as handed out in a Ready. */
  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.offset + this.entries.length;
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /** Entries up to (index, term) are durable; drop them unless they were overwritten meanwhile. */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    const t = this.maybeTerm(index);
    if (t !== term) return;
    const k = index + 1 - this.offset;
    this.entries = k >= this.entries.length ? [] : this.entries.slice(k);
    this.offset = index + 1;
    if (this.offsetInProgress < this.offset) this.offsetInProgress = this.offset;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(snap: Snapshot): void {
    this.offset = snap.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = snap;
    this.snapshotInProgress = false;
  }

  /** Appends contiguous entries, replacing any unstable entries at the same or higher indexes. */
  truncateAndAppend(ents: Entry[]): void {
    const from = ents[0].index;
    const end = this.offset + this.entries.length;
    if (from === end) {
      for (const e of ents) this.entries.push(e);
    } else if (from <= this.offset) {
      // The whole unstable tail is replaced; storage entries from `from` on are superseded too.
      this.offset = from;
      this.offsetInProgress = from;
      this.entries = ents.slice();
    } else {
      this.entries.length = from - this.offset;
      for (const e of ents) this.entries.push(e);
      if (this.offsetInProgress > from) this.offsetInProgress = from;
    }
  }

  /** Unstable entries in [lo, hi) cut at maxSize data bytes; the caller checks the bounds. */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    return limitSize(this.entries, lo - this.offset, hi - this.offset, maxSize);
  }
}
