// The write-ahead log: appends Raft entries, hard states and snapshot markers to segment
// files and makes them durable before acknowledging. Concurrent save() calls are group
// committed: everything queued while the previous write+fdatasync ran goes out as one write
// and one fdatasync, in call order.
//
// Segments are named %016x-%016x.wal (sequence, first index). Each starts with a crc record
// carrying the previous segment's last crc, the metadata, and the latest hard state, so older
// segments can be deleted once a snapshot covers them. A segment is fdatasynced before the
// next one is started, so only the last one can ever end in a torn write.

import type { FileHandle } from "node:fs/promises";
import { mkdir, open, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Entry, HardState } from "../../raft/types.js";
import {
  encodeEntryInto,
  encodeHardStateInto,
  encodeSnapshotMarkerInto,
  entryEncodedSize,
  HARD_STATE_SIZE,
  SNAPSHOT_MARKER_SIZE,
  type SnapshotMarker,
} from "./codec.js";
import {
  consoleLogger,
  createFileDurably,
  fsyncDir,
  listSegments,
  removeTempFiles,
  type SegmentFile,
  segmentName,
  type WalLogger,
  writeAll,
} from "./files.js";
import { RecordBuilder, RecordType } from "./record.js";
import { type MarkerLocation, replay } from "./replay.js";

export const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;

export interface WalOptions {
  /** A segment is cut once it reaches this many bytes. Default 64 MiB. */
  segmentSize?: number;
  logger?: WalLogger;
}

export interface WalOpenResult {
  wal: Wal;
  metadata: Uint8Array;
  /** The last hard state saved; all zeros if none was. */
  hardState: HardState;
  /** Live entries after the snapshot marker opened from, contiguous, latest record per index. */
  entries: Entry[];
  /** The newest snapshot marker in the log, if any. */
  snapshot?: SnapshotMarker;
}

export interface WalStats {
  /** save() and saveSnapshot() calls accepted. */
  saves: number;
  /** Group-commit batches flushed. */
  batches: number;
  /** write syscalls on segment files. */
  writes: number;
  /** fdatasync calls on segment files (including the one that closes a segment at a cut). */
  syncs: number;
  bytesWritten: number;
  segmentsCut: number;
}

interface PendingWrite {
  kind: "write";
  buf: Buffer;
  sync: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface PendingCut {
  kind: "cut";
  segment: SegmentFile;
  header: Buffer;
}

type Pending = PendingWrite | PendingCut;

export class Wal {
  readonly stats: WalStats = { saves: 0, batches: 0, writes: 0, syncs: 0, bytesWritten: 0, segmentsCut: 0 };

  // Encoding state: advances synchronously in save() call order.
  private encodedCrc: number;
  private encodedSize: number;
  private encodedSeq: number;
  private lastIndex: number;
  private lastHardState: HardState | undefined;

  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** Bytes written to the current segment that no fdatasync has covered yet. */
  private unsynced = false;
  private failure: unknown;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly metadata: Uint8Array,
    private readonly segmentSize: number,
    private file: FileHandle,
    private segments: SegmentFile[],
    private markers: MarkerLocation[],
    tail: { seq: number; size: number; crc: number; lastIndex: number; hardState: HardState | undefined },
  ) {
    this.encodedCrc = tail.crc;
    this.encodedSize = tail.size;
    this.encodedSeq = tail.seq;
    this.lastIndex = tail.lastIndex;
    this.lastHardState = tail.hardState;
  }

  /** Whether dir holds WAL segments (then open it; otherwise create one). */
  static async exists(dir: string): Promise<boolean> {
    try {
      return (await listSegments(dir)).length > 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  /** Creates a new WAL in dir (made if missing; must hold no segments yet). */
  static async create(dir: string, metadata: Uint8Array, options: WalOptions = {}): Promise<Wal> {
    const segmentSize = checkSegmentSize(options.segmentSize);
    const existed = await mkdir(dir, { recursive: true }).then((made) => made === undefined);
    if (existed && (await Wal.exists(dir))) throw new Error(`wal: ${dir} already holds a WAL`);
    await removeTempFiles(dir);
    if (!existed) await fsyncDir(dirname(dir));
    const segment = { seq: 0, firstIndex: 0, name: segmentName(0, 0) };
    const header = segmentHeader(0, metadata, undefined);
    const file = await createFileDurably(dir, segment.name, [header.finish()]);
    const tail = { seq: 0, size: header.buf.length, crc: header.lastCrc, lastIndex: 0, hardState: undefined };
    return new Wal(dir, metadata, segmentSize, file, [segment], [], tail);
  }

  /**
   * Reads the WAL in dir, repairing a torn tail of the last segment, and returns it ready to
   * append. `from` must name a snapshot marker in the log (or be omitted / index 0): only
   * entries after it are returned. Throws WalCorruptionError if written data is damaged,
   * WalSnapshotNotFoundError if `from` is not in the log, and WalGapError if entries after
   * `from` are absent because segments were released or the log starts at a later marker.
   */
  static async open(dir: string, from?: SnapshotMarker, options: WalOptions = {}): Promise<WalOpenResult> {
    const segmentSize = checkSegmentSize(options.segmentSize);
    await removeTempFiles(dir);
    const mode = { from: from ?? { index: 0, term: 0 } };
    const r = await replay(dir, mode, options.logger ?? consoleLogger, true);
    const last = r.segments[r.segments.length - 1]!;
    const file = await open(join(dir, last.name), "a");
    const tail = { seq: last.seq, ...r.tail, lastIndex: r.lastIndex, hardState: r.hardState };
    const wal = new Wal(dir, r.metadata, segmentSize, file, r.segments, r.markers, tail);
    const newest = r.markers[r.markers.length - 1];
    return {
      wal,
      metadata: r.metadata,
      hardState: r.hardState ?? { term: 0, vote: 0, commit: 0 },
      entries: r.entries,
      ...(newest ? { snapshot: { index: newest.index, term: newest.term } } : {}),
    };
  }

  /**
   * The snapshot markers in dir that a restart may start from: those at or below the last
   * hard state's commit (etcd's ValidSnapshotEntries), oldest first. Entries are not decoded,
   * so a log with a released prefix or one starting at a marker reads fine. Read-only; a torn
   * tail is ignored.
   */
  static async snapshotMarkers(dir: string, options: WalOptions = {}): Promise<SnapshotMarker[]> {
    const mode = { markersOnly: true } as const;
    const r = await replay(dir, mode, options.logger ?? consoleLogger, false);
    const commit = r.hardState?.commit ?? 0;
    return r.markers.filter((m) => m.index <= commit).map((m) => ({ index: m.index, term: m.term }));
  }

  /**
   * Appends entries (then the hard state, if given). Entries must be contiguous; an index at
   * or below one already saved replaces that entry and all after it. With sync, resolves only
   * after an fdatasync covers the records. Saves resolve in call order.
   */
  save(hardState: HardState | undefined, entries: Entry[], sync: boolean): Promise<void> {
    try {
      this.checkUsable();
      let payload = 0;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        if (i > 0 && e.index !== entries[i - 1]!.index + 1) {
          throw new Error(
            `wal: entries not contiguous: index ${entries[i - 1]!.index} followed by ${e.index}`,
          );
        }
        payload += entryEncodedSize(e);
      }
      if (hardState) payload += HARD_STATE_SIZE;
      const records = new RecordBuilder(payload, entries.length + (hardState ? 1 : 0), this.encodedCrc);
      for (const e of entries) {
        records.add(RecordType.Entry, entryEncodedSize(e), (buf, o) => encodeEntryInto(buf, o, e));
      }
      if (hardState) {
        records.add(RecordType.HardState, HARD_STATE_SIZE, (buf, o) =>
          encodeHardStateInto(buf, o, hardState),
        );
      }
      const buf = records.finish();
      if (entries.length > 0) this.lastIndex = entries[entries.length - 1]!.index;
      if (hardState) this.lastHardState = { ...hardState };
      return this.enqueue(buf, records.lastCrc, sync);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Records a snapshot marker, synced. Save the snapshot file itself before calling this. */
  async saveSnapshot(marker: SnapshotMarker): Promise<void> {
    this.checkUsable();
    const records = new RecordBuilder(SNAPSHOT_MARKER_SIZE, 1, this.encodedCrc);
    records.add(RecordType.Snapshot, SNAPSHOT_MARKER_SIZE, (buf, o) =>
      encodeSnapshotMarkerInto(buf, o, marker),
    );
    if (marker.index > this.lastIndex) this.lastIndex = marker.index;
    const seq = this.encodedSeq;
    await this.enqueue(records.finish(), records.lastCrc, true);
    this.markers.push({ index: marker.index, term: marker.term, seq });
  }

  /**
   * Deletes the segments that hold nothing at or after the newest snapshot marker at or below
   * index; the segment holding that marker stays, so the log can be reopened from it.
   */
  async releaseTo(index: number): Promise<void> {
    this.checkUsable();
    let marker: MarkerLocation | undefined;
    for (const m of this.markers) if (m.index <= index) marker = m;
    if (!marker) return;
    const doomed: SegmentFile[] = [];
    for (let i = 0; i + 1 < this.segments.length; i++) {
      const next = this.segments[i + 1]!;
      // Live entries in a segment sit below the next segment's first index.
      if (next.seq > marker.seq || next.firstIndex > marker.index + 1) break;
      doomed.push(this.segments[i]!);
    }
    if (doomed.length === 0) return;
    for (const seg of doomed) await rm(join(this.dir, seg.name));
    await fsyncDir(this.dir);
    this.segments = this.segments.filter((s) => !doomed.includes(s));
    const firstSeq = this.segments[0]!.seq;
    this.markers = this.markers.filter((m) => m.seq >= firstSeq);
  }

  /** Flushes and syncs everything queued, then closes the segment file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    try {
      if (this.unsynced && this.failure === undefined) await this.datasync();
    } finally {
      await this.file.close();
    }
  }

  /** Segment file names currently in use, oldest first. */
  segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  private checkUsable(): void {
    if (this.closed) throw new Error("wal: closed");
    if (this.failure !== undefined) {
      throw new Error(`wal: unusable after an earlier write failure: ${String(this.failure)}`, {
        cause: this.failure,
      });
    }
  }

  private enqueue(buf: Buffer, crcAfter: number, sync: boolean): Promise<void> {
    this.stats.saves++;
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: "write", buf, sync, resolve, reject });
    });
    this.encodedCrc = crcAfter;
    this.encodedSize += buf.length;
    if (this.encodedSize >= this.segmentSize) this.enqueueCut();
    // Start on a microtask so a burst of synchronous calls lands in one batch.
    this.flushing ??= Promise.resolve().then(() => this.flushLoop());
    return done;
  }

  private enqueueCut(): void {
    const seq = this.encodedSeq + 1;
    const segment = { seq, firstIndex: this.lastIndex + 1, name: segmentName(seq, this.lastIndex + 1) };
    const header = segmentHeader(this.encodedCrc, this.metadata, this.lastHardState);
    this.queue.push({ kind: "cut", segment, header: header.finish() });
    this.encodedSeq = seq;
    this.encodedCrc = header.lastCrc;
    this.encodedSize = header.buf.length;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        try {
          await this.writeBatch(batch);
        } catch (err) {
          // The file's state is unknown now; refuse everything rather than risk a gap.
          this.failure = err;
          for (const item of [...batch, ...this.queue.splice(0)]) if (item.kind === "write") item.reject(err);
          return;
        }
        for (const item of batch) if (item.kind === "write") item.resolve();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    this.stats.batches++;
    let chunks: Buffer[] = [];
    let mustSync = false;
    const writeChunks = async () => {
      if (chunks.length === 0) return;
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      chunks = [];
      await writeAll(this.file, buf);
      this.stats.writes++;
      this.stats.bytesWritten += buf.length;
      this.unsynced = true;
    };
    for (const item of batch) {
      if (item.kind === "write") {
        if (item.buf.length > 0) chunks.push(item.buf);
        mustSync ||= item.sync;
        continue;
      }
      await writeChunks();
      await this.datasync();
      await this.file.close();
      this.file = await createFileDurably(this.dir, item.segment.name, [item.header]);
      this.stats.syncs++;
      this.stats.segmentsCut++;
      this.segments.push(item.segment);
    }
    await writeChunks();
    if (mustSync && this.unsynced) await this.datasync();
  }

  private async datasync(): Promise<void> {
    await this.file.datasync();
    this.stats.syncs++;
    this.unsynced = false;
  }
}

/** The records every segment starts with: the crc carried over, the metadata, the hard state. */
function segmentHeader(
  prevCrc: number,
  metadata: Uint8Array,
  hardState: HardState | undefined,
): RecordBuilder {
  const payload = 4 + metadata.byteLength + (hardState ? HARD_STATE_SIZE : 0);
  const records = new RecordBuilder(payload, hardState ? 3 : 2, 0);
  records.add(RecordType.Crc, 4, (buf, o) => buf.writeUInt32LE(prevCrc, o));
  records.add(RecordType.Metadata, metadata.byteLength, (buf, o) => {
    buf.set(metadata, o);
    return o + metadata.byteLength;
  });
  if (hardState) {
    records.add(RecordType.HardState, HARD_STATE_SIZE, (buf, o) => encodeHardStateInto(buf, o, hardState));
  }
  return records;
}

function checkSegmentSize(size: number | undefined): number {
  if (size === undefined) return DEFAULT_SEGMENT_SIZE;
  if (!Number.isSafeInteger(size) || size < 1)
    throw new Error(`wal: segmentSize must be a positive integer, got ${size}`);
  return size;
}
