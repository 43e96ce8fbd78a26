// Binary encoding of the Raft records the WAL and the snapshotter persist. Little-endian,
// fixed-width integers, length-prefixed byte strings. Integers are carried as u64 on disk
// (etcd's width) but must stay below 2^53 so they round-trip through JS numbers.
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type SnapshotMetadata,
} from "../../raft/types.js";

export class CodecError extends Error {
  override name = "CodecError";
}

const TWO_POW_32 = 2 ** 32;
const MAX_HIGH_WORD = 0x1fffff; // high 21 bits of a 53-bit integer

/** Encoded size of an entry without its data: term, index (u64 each), type (u8), data length (u32). */
const ENTRY_FIXED_SIZE = 8 + 8 + 1 + 4;
export const HARD_STATE_SIZE = 24;
export const SNAPSHOT_MARKER_SIZE = 16;

/** A snapshot's position in the log as the WAL records it: no state, no configuration. */
export interface SnapshotMarker {
  index: number;
  term: number;
}

function view(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkU53(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CodecError(`${what} must be a non-negative safe integer, got ${value}`);
  }
}

/** Writes a checked non-negative integer below 2^53 as u64 LE; returns the offset after it. */
export function writeU53(buf: Buffer, offset: number, value: number, what: string): number {
  checkU53(value, what);
  buf.writeUInt32LE(value >>> 0, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_POW_32), offset + 4);
  return offset + 8;
}

/** A bounds-checked little-endian reader that names the structure in its errors. */
export class Reader {
  private readonly buf: Buffer;
  offset = 0;

  constructor(
    bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.buf = view(bytes);
  }

  private need(n: number, field: string): void {
    if (this.offset + n > this.buf.length) {
      throw new CodecError(
        `${this.what}: truncated at ${field} (need ${n} bytes at offset ${this.offset}, have ${this.buf.length - this.offset})`,
      );
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.offset++]!;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }

  u53(field: string): number {
    this.need(8, field);
    const lo = this.buf.readUInt32LE(this.offset);
    const hi = this.buf.readUInt32LE(this.offset + 4);
    if (hi > MAX_HIGH_WORD) throw new CodecError(`${this.what}: ${field} exceeds 2^53`);
    this.offset += 8;
    return hi * TWO_POW_32 + lo;
  }

  /** Copies n bytes out, so decoded values never pin a whole file buffer in memory. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }

  /** n bytes without copying, for a large payload that owns most of its buffer anyway. */
  view(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  end(): void {
    if (this.offset !== this.buf.length) {
      throw new CodecError(`${this.what}: ${this.buf.length - this.offset} unexpected trailing bytes`);
    }
  }
}

export function entryEncodedSize(entry: Entry): number {
  return ENTRY_FIXED_SIZE + entry.data.byteLength;
}

/** Encodes entry at offset in buf (which must have entryEncodedSize bytes free); returns the end offset. */
export function encodeEntryInto(buf: Buffer, offset: number, entry: Entry): number {
  if (entry.type !== EntryType.Normal && entry.type !== EntryType.ConfChange) {
    throw new CodecError(`entry ${entry.index}: unknown entry type ${entry.type}`);
  }
  let o = writeU53(buf, offset, entry.term, "entry term");
  o = writeU53(buf, o, entry.index, "entry index");
  buf[o++] = entry.type;
  buf.writeUInt32LE(entry.data.byteLength, o);
  o += 4;
  buf.set(entry.data, o);
  return o + entry.data.byteLength;
}

export function encodeEntry(entry: Entry): Uint8Array {
  const buf = Buffer.allocUnsafe(entryEncodedSize(entry));
  encodeEntryInto(buf, 0, entry);
  return buf;
}

export function decodeEntry(bytes: Uint8Array): Entry {
  const r = new Reader(bytes, "entry");
  const term = r.u53("term");
  const index = r.u53("index");
  const type = r.u8("type");
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) {
    throw new CodecError(`entry ${index}: unknown entry type ${type}`);
  }
  const data = r.bytes(r.u32("data length"), "data");
  r.end();
  return { term, index, type, data };
}

export function encodeHardStateInto(buf: Buffer, offset: number, hs: HardState): number {
  let o = writeU53(buf, offset, hs.term, "hard state term");
  o = writeU53(buf, o, hs.vote, "hard state vote");
  return writeU53(buf, o, hs.commit, "hard state commit");
}

export function encodeHardState(hs: HardState): Uint8Array {
  const buf = Buffer.allocUnsafe(HARD_STATE_SIZE);
  encodeHardStateInto(buf, 0, hs);
  return buf;
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const r = new Reader(bytes, "hard state");
  const hs = { term: r.u53("term"), vote: r.u53("vote"), commit: r.u53("commit") };
  r.end();
  return hs;
}

export function encodeSnapshotMarkerInto(buf: Buffer, offset: number, marker: SnapshotMarker): number {
  const o = writeU53(buf, offset, marker.index, "snapshot index");
  return writeU53(buf, o, marker.term, "snapshot term");
}

export function decodeSnapshotMarker(bytes: Uint8Array): SnapshotMarker {
  const r = new Reader(bytes, "snapshot marker");
  const marker = { index: r.u53("index"), term: r.u53("term") };
  r.end();
  return marker;
}

function nodeListSize(ids: number[]): number {
  return 4 + 8 * ids.length;
}

function writeNodeList(buf: Buffer, offset: number, ids: number[], what: string): number {
  buf.writeUInt32LE(ids.length, offset);
  let o = offset + 4;
  for (const id of ids) o = writeU53(buf, o, id, what);
  return o;
}

function readNodeList(r: Reader, what: string): number[] {
  const n = r.u32(`${what} count`);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(r.u53(what));
  return ids;
}

/** index (u64), term (u64), voters (u32 count + u64 ids), learners (same). */
export function encodeSnapshotMetadata(meta: SnapshotMetadata): Uint8Array {
  const cs: ConfState = meta.confState;
  const buf = Buffer.allocUnsafe(16 + nodeListSize(cs.voters) + nodeListSize(cs.learners));
  let o = writeU53(buf, 0, meta.index, "snapshot index");
  o = writeU53(buf, o, meta.term, "snapshot term");
  o = writeNodeList(buf, o, cs.voters, "voter id");
  writeNodeList(buf, o, cs.learners, "learner id");
  return buf;
}

export function decodeSnapshotMetadata(bytes: Uint8Array): SnapshotMetadata {
  const r = new Reader(bytes, "snapshot metadata");
  const index = r.u53("index");
  const term = r.u53("term");
  const voters = readNodeList(r, "voter id");
  const learners = readNodeList(r, "learner id");
  r.end();
  return { index, term, confState: { voters, learners } };
}
