// The Raft log as the state machine sees it: stable entries in Storage followed by the
// Unstable tail, plus the commit, applying and applied indexes. Mirrors etcd-io/raft's raftLog.

import { CompactedError, ErrCompacted, ErrUnavailable, UnavailableError } from "./errors.js";
import type { Entry, Snapshot, Storage } from "./types.js";
import { Unstable } from "./unstable.js";
import { limitSize } from "./util.js";

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed on a quorum. */
  committed: number;
  /** Highest index handed to the application in a Ready (applied <= applying <= committed). */
  applying: number;
  /** Highest index the application acknowledged as applied via advance(). */
  applied: number;
  /** Bound on the data bytes of committed entries handed out in one Ready. */
  private readonly maxApplyingSize: number;

  constructor(storage: Storage, maxApplyingSize: number) {
    this.storage = storage;
    this.maxApplyingSize = maxApplyingSize;
    const firstIndex = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = firstIndex - 1;
    this.applying = firstIndex - 1;
    this.applied = firstIndex - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.termOrZero(this.lastIndex());
  }

  /** Term of entry i; throws ErrCompacted below the first index - 1 and ErrUnavailable past the last. */
  term(i: number): number {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    const dummyIndex = this.firstIndex() - 1;
    if (i < dummyIndex) throw ErrCompacted;
    if (i > this.lastIndex()) throw ErrUnavailable;
    return this.storage.term(i);
  }

  /** The term, or 0 when the entry is compacted or does not exist. */
  termOrZero(i: number): number {
    try {
      return this.term(i);
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return 0;
      throw err;
    }
  }

  matchTerm(i: number, term: number): boolean {
    try {
      return this.term(i) === term;
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return false;
      throw err;
    }
  }

  /** Whether a log ending at (lastIndex, term) is at least as up to date as ours (Raft §5.4.1). */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Appends a leader's entries that follow (index, logTerm) if our log contains that entry.
   * Returns the index of the last new entry, or -1 when the consistency check fails.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(
          `raft: entry ${conflict} conflicts with committed entry [committed(${this.committed})]`,
        );
      }
      this.append(conflict === ents[0].index ? ents : ents.slice(conflict - ents[0].index));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends contiguous entries starting at most at lastIndex+1; returns the new last index. */
  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    if (after < this.committed) {
      throw new Error(`raft: appending after ${after} is out of range [committed(${this.committed})]`);
    }
    if (after > this.lastIndex()) {
      throw new Error(`raft: appending after ${after} leaves a gap [lastIndex(${this.lastIndex()})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry that is new or whose term differs from ours, or 0 when all
   * entries are already in the log.
   */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term, used to skip a whole
   * divergent term per round trip when back-tracking. An unknown (compacted) term reports 0.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      let ours: number;
      try {
        ours = this.term(index);
      } catch (err) {
        if (err instanceof CompactedError || err instanceof UnavailableError) return { index, term: 0 };
        throw err;
      }
      if (ours <= term) return { index, term: ours };
    }
    return { index: 0, term: 0 };
  }

  commitTo(toCommit: number): void {
    if (toCommit <= this.committed) return;
    if (this.lastIndex() < toCommit) {
      throw new Error(
        `raft: tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]; was the log lost?`,
      );
    }
    this.committed = toCommit;
  }

  /** Commits maxIndex if its entry is from `term`: a leader only counts replicas for its own term. */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  acceptApplying(index: number): void {
    if (index > this.applying) this.applying = index;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new Error(
        `raft: applied(${index}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
      );
    }
    this.applied = index;
    if (this.applying < index) this.applying = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet handed out, bounded by maxApplyingSize (at least one entry). */
  nextCommittedEnts(): Entry[] {
    if (this.hasNextOrInProgressSnapshot()) return [];
    const lo = this.applying + 1;
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, this.maxApplyingSize);
  }

  hasNextCommittedEnts(): boolean {
    return !this.hasNextOrInProgressSnapshot() && this.applying < this.committed;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  restore(snap: Snapshot): void {
    this.committed = snap.metadata.index;
    this.unstable.restore(snap);
  }

  /** Entries from i to the last index, cut at maxSize bytes. Throws ErrCompacted if i is compacted. */
  entriesFrom(i: number, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  /** Entries in [lo, hi), at most maxSize data bytes but at least one entry. */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo > hi) throw new Error(`raft: invalid slice ${lo} > ${hi}`);
    const first = this.firstIndex();
    if (lo < first) throw ErrCompacted;
    if (hi > this.lastIndex() + 1) {
      throw new Error(`raft: slice[${lo},${hi}) out of bound [${first},${this.lastIndex()}]`);
    }
    if (lo === hi) return [];
    const uOffset = this.unstable.offset;
    if (lo >= uOffset) return this.unstable.slice(lo, hi, maxSize);
    const stored = this.storage.entries(lo, Math.min(hi, uOffset), maxSize);
    // Storage cut the range short on size, or the range ends in storage: nothing more to add.
    if (hi <= uOffset || stored.length < uOffset - lo) return stored;
    const ents = stored.concat(this.unstable.slice(uOffset, hi, Number.POSITIVE_INFINITY));
    if (maxSize === Number.POSITIVE_INFINITY) return ents;
    const cut = limitSize(ents, 0, ents.length, maxSize);
    return cut;
  }
}
