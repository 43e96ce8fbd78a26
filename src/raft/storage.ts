// MemoryStorage: the Storage contract kept in memory, as etcd-io/raft's MemoryStorage. The
// driver appends entries and sets the hard state here after each Ready; the Raft core only
// reads. Entries are shared, never copied: their data buffers must not be mutated.

import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from "./errors.js";
import type { ConfState, Entry, HardState, Snapshot, Storage } from "./types.js";
import { EntryType } from "./types.js";
import { limitSize } from "./util.js";

const EMPTY_DATA = new Uint8Array(0);

export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot = {
    metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
    data: EMPTY_DATA,
  };
  /** ents[0] is a placeholder whose index/term are those of the last compaction point. */
  private ents: Entry[] = [{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY_DATA }];

  /**
   * A new cluster starts from an empty log whose configuration is `initialConfState`: every
   * founding member is created with the same one. A member added later either starts from
   * that same configuration and replays the whole log, or starts with none and learns the
   * configuration from the snapshot the leader sends once it has compacted its log.
   */
  constructor(initialConfState?: ConfState) {
    if (initialConfState !== undefined) {
      this.snap.metadata.confState = {
        voters: [...initialConfState.voters],
        learners: [...initialConfState.learners],
      };
    }
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    const cs = this.snap.metadata.confState;
    return {
      hardState: { ...this.hardState },
      confState: { voters: [...cs.voters], learners: [...cs.learners] },
    };
  }

  setHardState(hs: HardState): void {
    this.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw ErrCompacted;
    if (hi > this.lastIndex() + 1) {
      throw new Error(`raft: entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    }
    if (this.ents.length === 1) throw ErrUnavailable;
    return limitSize(this.ents, lo - offset, hi - offset, maxSize);
  }

  term(i: number): number {
    const offset = this.ents[0].index;
    if (i < offset) throw ErrCompacted;
    if (i - offset >= this.ents.length) throw ErrUnavailable;
    return this.ents[i - offset].term;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log by the snapshot. Throws ErrSnapOutOfDate unless it is newer. */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) throw ErrSnapOutOfDate;
    this.snap = snap;
    this.ents = [
      { term: snap.metadata.term, index: snap.metadata.index, type: EntryType.Normal, data: EMPTY_DATA },
    ];
  }

  /**
   * Records a snapshot of the state machine as of `index` (which must be applied by the
   * caller). Entries are kept until compact() is called. Returns the snapshot.
   */
  createSnapshot(index: number, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw ErrSnapOutOfDate;
    if (index > this.lastIndex()) {
      throw new Error(`raft: snapshot index ${index} is out of bound lastindex(${this.lastIndex()})`);
    }
    const cs = confState ?? this.snap.metadata.confState;
    this.snap = {
      metadata: {
        index,
        term: this.ents[index - this.ents[0].index].term,
        confState: { voters: [...cs.voters], learners: [...cs.learners] },
      },
      data,
    };
    return this.snap;
  }

  /** Discards entries up to and including compactIndex. The caller must have snapshotted them. */
  compact(compactIndex: number): void {
    const offset = this.ents[0].index;
    if (compactIndex <= offset) throw ErrCompacted;
    if (compactIndex > this.lastIndex()) throw ErrUnavailable;
    const i = compactIndex - offset;
    const kept: Entry[] = [
      { term: this.ents[i].term, index: this.ents[i].index, type: EntryType.Normal, data: EMPTY_DATA },
    ];
    for (let j = i + 1; j < this.ents.length; j++) kept.push(this.ents[j]);
    this.ents = kept;
  }

  /**
   * Appends entries, which must be contiguous. Stored entries at the same or higher indexes
   * are replaced (a new leader overwrote them); entries at or below the compaction point are
   * ignored.
   */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return;
    let from = 0;
    if (first > entries[0].index) from = first - entries[0].index;
    const offset = entries[from].index - this.ents[0].index;
    if (offset > this.ents.length) {
      throw new Error(
        `raft: missing log entry [last: ${this.lastIndex()}, append at: ${entries[from].index}]`,
      );
    }
    if (offset < this.ents.length) this.ents.length = offset;
    for (let j = from; j < entries.length; j++) this.ents.push(entries[j]);
  }

  /** An independent copy of the durable state (entries and snapshot data are shared, immutable). */
  clone(): MemoryStorage {
    const copy = new MemoryStorage();
    copy.hardState = { ...this.hardState };
    copy.snap = this.snap;
    copy.ents = this.ents.slice();
    return copy;
  }
}
