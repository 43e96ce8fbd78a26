// Reading a WAL directory back: every segment in sequence, checking the crc chain across
// segments, repairing a torn tail of the last segment, and folding the records into the
// state a restarting node needs (metadata, last hard state, live entries, snapshot markers).
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Entry, HardState } from "../../raft/types.js";
import {
  CodecError,
  decodeEntry,
  decodeHardState,
  decodeSnapshotMarker,
  type SnapshotMarker,
} from "./codec.js";
import { fsyncDir, listSegments, type SegmentFile, type WalLogger } from "./files.js";
import { hex, RecordType, type ScannedRecord, scanSegment, WalCorruptionError } from "./record.js";

export class WalNotFoundError extends Error {
  override name = "WalNotFoundError";
}

export class WalSnapshotNotFoundError extends Error {
  override name = "WalSnapshotNotFoundError";
}

/**
 * The log holds no entries below firstIndex that the reader asked for: the segments holding
 * them were released, or the log starts at a snapshot marker. Not corruption: open from a
 * snapshot marker instead.
 */
export class WalGapError extends Error {
  override name = "WalGapError";
  constructor(
    readonly dir: string,
    readonly firstIndex: number,
    from: SnapshotMarker,
  ) {
    super(
      `wal: ${dir} holds no entries from index ${from.index + 1} to ${firstIndex - 1} ` +
        "(segments before them were released, or the log starts at a snapshot marker); " +
        `open from a snapshot marker at index ${firstIndex - 1} or later`,
    );
  }
}

/**
 * What to read back: entries after `from`, or just markers and hard states (markersOnly: entries
 * are not decoded, so `entries` stays empty and `lastIndex` counts markers only).
 */
export type ReplayMode = { from: SnapshotMarker } | { markersOnly: true };

/** A snapshot marker and the segment that holds it. */
export interface MarkerLocation extends SnapshotMarker {
  seq: number;
}

export interface ReplayResult {
  metadata: Uint8Array;
  /** The last hard state recorded, or undefined if none was ever saved. */
  hardState: HardState | undefined;
  /** Live entries after `from.index`, contiguous. */
  entries: Entry[];
  markers: MarkerLocation[];
  segments: SegmentFile[];
  /** Index of the last entry or snapshot marker recorded (names the next segment). */
  lastIndex: number;
  /** Where appending resumes in the last segment. */
  tail: { size: number; crc: number };
}

/**
 * Replays dir. With repair, a torn tail of the last segment is cut off (and logged); without
 * it the torn bytes are only ignored, leaving the files untouched.
 */
export async function replay(
  dir: string,
  mode: ReplayMode,
  logger: WalLogger,
  repair: boolean,
): Promise<ReplayResult> {
  const segments = await listSegments(dir);
  if (segments.length === 0) throw new WalNotFoundError(`wal: no segment files in ${dir}`);
  for (let i = 1; i < segments.length; i++) {
    if (segments[i]!.seq !== segments[i - 1]!.seq + 1) {
      const missing = segments[i - 1]!.seq + 1;
      throw new WalCorruptionError(
        join(dir, segments[i]!.name),
        0,
        `segment with sequence ${missing} is missing`,
      );
    }
  }
  const from = "from" in mode ? mode.from : undefined;
  const state = new ReplayState(from, segments[0]!.seq > 0);
  let tail = { size: 0, crc: 0 };
  let prevCrc: number | undefined;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const path = join(dir, seg.name);
    const isLast = i === segments.length - 1;
    const scan = scanSegment(await readFile(path), path, isLast);
    if (scan.torn !== undefined) {
      const action = repair ? "truncating" : "ignoring";
      logger.warn(`wal: torn tail in ${path} at offset ${scan.validEnd} (${scan.torn}); ${action} it`);
      if (repair) await truncateDurably(path, scan.validEnd);
    }
    if (scan.records.length === 0) throw new WalCorruptionError(path, 0, "segment has no crc record");
    state.checkChain(scan.records[0]!, prevCrc, path);
    for (const rec of scan.records) state.apply(rec, seg.seq, path);
    state.endSegment(path);
    prevCrc = scan.lastCrc;
    tail = { size: scan.validEnd, crc: scan.lastCrc };
  }
  if (repair) await fsyncDir(dir);
  if (from !== undefined && from.index > 0 && !state.foundFrom) {
    const near = state.markers.find((m) => m.index === from.index);
    const detail = near ? `; the marker at that index has term ${near.term}` : "";
    throw new WalSnapshotNotFoundError(
      `wal: snapshot marker (index ${from.index}, term ${from.term}) not found in ${dir}${detail}`,
    );
  }
  if (from !== undefined && state.gapAt !== undefined) throw new WalGapError(dir, state.gapAt, from);
  return {
    metadata: state.metadata!,
    hardState: state.hardState,
    entries: state.entries,
    markers: state.markers,
    segments,
    lastIndex: state.lastIndex,
    tail,
  };
}

async function truncateDurably(path: string, size: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

class ReplayState {
  metadata: Uint8Array | undefined;
  hardState: HardState | undefined;
  readonly entries: Entry[] = [];
  readonly markers: MarkerLocation[] = [];
  lastIndex = 0;
  foundFrom = false;
  /** Index of the first entry when the ones before it (after `from`) are legitimately absent. */
  gapAt: number | undefined;
  private segmentHasMetadata = false;

  /** from undefined: markers and hard states only (etcd's ValidSnapshotEntries scan). */
  constructor(
    private readonly from: SnapshotMarker | undefined,
    private readonly prefixReleased: boolean,
  ) {}

  checkChain(first: ScannedRecord, prevCrc: number | undefined, path: string): void {
    if (first.payload.length !== 4) {
      throw new WalCorruptionError(
        path,
        first.offset,
        `crc record payload is ${first.payload.length} bytes, not 4`,
      );
    }
    const carried = first.payload.readUInt32LE(0);
    // The first segment present may follow released ones, so only a successor can be checked.
    if (prevCrc !== undefined && carried !== prevCrc) {
      throw new WalCorruptionError(
        path,
        first.offset,
        `crc chain broken: segment carries ${hex(carried)} but the previous segment ends with ${hex(prevCrc)}`,
      );
    }
  }

  apply(rec: ScannedRecord, seq: number, path: string): void {
    try {
      switch (rec.type) {
        case RecordType.Crc:
          if (rec.offset !== 0) throw new WalCorruptionError(path, rec.offset, "crc record in mid-segment");
          break;
        case RecordType.Metadata:
          this.applyMetadata(rec, path);
          break;
        case RecordType.Entry:
          if (this.from !== undefined) this.applyEntry(this.from, decodeEntry(rec.payload), rec, path);
          break;
        case RecordType.HardState:
          this.hardState = decodeHardState(rec.payload);
          break;
        case RecordType.Snapshot:
          this.applyMarker(decodeSnapshotMarker(rec.payload), seq);
          break;
      }
    } catch (err) {
      if (err instanceof CodecError) throw new WalCorruptionError(path, rec.offset, err.message);
      throw err;
    }
  }

  endSegment(path: string): void {
    if (!this.segmentHasMetadata) throw new WalCorruptionError(path, 0, "segment has no metadata record");
    this.segmentHasMetadata = false;
  }

  private applyMetadata(rec: ScannedRecord, path: string): void {
    if (this.metadata === undefined) this.metadata = new Uint8Array(rec.payload);
    else if (!rec.payload.equals(this.metadata)) {
      throw new WalCorruptionError(path, rec.offset, "metadata differs from the first segment's");
    }
    this.segmentHasMetadata = true;
  }

  private applyEntry(from: SnapshotMarker, entry: Entry, rec: ScannedRecord, path: string): void {
    this.lastIndex = entry.index;
    if (entry.index <= from.index || this.gapAt !== undefined) return;
    // A record for an index already held replaces it and everything after: the suffix a new
    // leader overwrote.
    const next = from.index + 1 + this.entries.length;
    if (entry.index > next) {
      if (this.entries.length === 0 && this.startsLater(entry.index)) {
        // Reported after the scan, so a `from` marker missing from the log is named instead.
        this.gapAt = entry.index;
        return;
      }
      throw new WalCorruptionError(
        path,
        rec.offset,
        `entry ${entry.index} leaves a gap (expected index ${next} or lower); entries are missing`,
      );
    }
    this.entries.length = entry.index - from.index - 1;
    this.entries.push(entry);
  }

  /** Whether the log legitimately has nothing before index: released, or begun at a marker. */
  private startsLater(index: number): boolean {
    if (this.prefixReleased) return true;
    const marker = this.markers[this.markers.length - 1];
    return marker !== undefined && marker.index >= index - 1;
  }

  private applyMarker(marker: SnapshotMarker, seq: number): void {
    this.markers.push({ ...marker, seq });
    if (marker.index > this.lastIndex) this.lastIndex = marker.index;
    if (marker.index === this.from?.index && marker.term === this.from.term) this.foundFrom = true;
  }
}
