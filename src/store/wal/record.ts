// Record framing for WAL segment files, and the scan that tells a torn tail (an unfinished
// last write, repairable) from corruption (data that was written and is now wrong, fatal).
//
// Record layout (little-endian, no padding):
//   0  u32 payload length
//   4  u32 crc: crc32 of bytes 8..end, seeded with the previous record's crc (0 for a
//      segment's first record), so a record moved, reused or reordered fails its check
//   8  u8  type
//   9  u24 length check: low 24 bits of crc32(bytes 0..3), so a length can be trusted before
//      its payload is read; that is what separates "payload runs past EOF" (torn) from a
//      corrupted length in the middle of the file (fatal)
//  12  payload
import { crc32 } from "node:zlib";

export enum RecordType {
  /** A segment's first record; payload: the previous segment's last crc (u32), 0 for the first. */
  Crc = 1,
  /** Opaque bytes given at create(); repeated at the start of every segment. */
  Metadata = 2,
  Entry = 3,
  HardState = 4,
  /** A snapshot marker: index and term. */
  Snapshot = 5,
}

export const RECORD_HEADER_SIZE = 12;

export class WalCorruptionError extends Error {
  override name = "WalCorruptionError";
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`wal: corrupt record in ${path} at offset ${offset}: ${reason}`);
  }
}

function lengthCheck(buf: Buffer, offset: number): number {
  return crc32(buf.subarray(offset, offset + 4)) & 0xffffff;
}

/**
 * Builds the bytes of several records in one buffer (one write syscall per batch). The caller
 * sizes the buffer up front and fills each payload in place.
 */
export class RecordBuilder {
  readonly buf: Buffer;
  private offset = 0;

  constructor(
    payloadBytes: number,
    records: number,
    private crc: number,
  ) {
    this.buf = Buffer.allocUnsafe(payloadBytes + records * RECORD_HEADER_SIZE);
  }

  /** fill writes the payload at the given offset and returns the offset after it. */
  add(type: RecordType, payloadLength: number, fill: (buf: Buffer, offset: number) => number): void {
    const start = this.offset;
    const payloadStart = start + RECORD_HEADER_SIZE;
    const end = fill(this.buf, payloadStart);
    if (end - payloadStart !== payloadLength) {
      throw new Error(`wal: record payload is ${end - payloadStart} bytes, expected ${payloadLength}`);
    }
    this.buf.writeUInt32LE(payloadLength, start);
    this.buf.writeUInt32LE(((lengthCheck(this.buf, start) << 8) | type) >>> 0, start + 8);
    this.crc = crc32(this.buf.subarray(start + 8, end), this.crc);
    this.buf.writeUInt32LE(this.crc, start + 4);
    this.offset = end;
  }

  /** The running crc after the records added so far. */
  get lastCrc(): number {
    return this.crc;
  }

  finish(): Buffer {
    if (this.offset !== this.buf.length) {
      throw new Error(`wal: built ${this.offset} of ${this.buf.length} record bytes`);
    }
    return this.buf;
  }
}

export interface ScannedRecord {
  type: RecordType;
  /** A view into the segment buffer. */
  payload: Buffer;
  offset: number;
}

export interface SegmentScan {
  records: ScannedRecord[];
  /** Offset just past the last good record. */
  validEnd: number;
  /** crc of the last good record: the seed for the next record appended to this segment. */
  lastCrc: number;
  /** Set when the segment ends in a torn write that starts at validEnd. */
  torn?: string;
}

function zeroFrom(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Parses every record of one segment. Only the last segment may end in a torn write (older
 * ones were fsynced before the next was started); a failure there counts as torn only when
 * nothing but zeros follows the failing record, so fully written data is never dropped.
 */
export function scanSegment(buf: Buffer, path: string, isLast: boolean): SegmentScan {
  const records: ScannedRecord[] = [];
  let crc = 0;
  let offset = 0;
  const fail = (reason: string, tornIfZeroFrom: number): SegmentScan => {
    if (isLast && zeroFrom(buf, tornIfZeroFrom))
      return { records, validEnd: offset, lastCrc: crc, torn: reason };
    throw new WalCorruptionError(path, offset, reason);
  };
  while (offset < buf.length) {
    if (zeroFrom(buf, offset)) return fail("zero-filled tail", offset);
    if (buf.length - offset < RECORD_HEADER_SIZE) return fail("incomplete record header", buf.length);
    const length = buf.readUInt32LE(offset);
    const storedCheck = buf.readUInt32LE(offset + 8) >>> 8;
    if (storedCheck !== lengthCheck(buf, offset)) {
      return fail("bad record header (length check mismatch)", offset + RECORD_HEADER_SIZE);
    }
    const end = offset + RECORD_HEADER_SIZE + length;
    if (end > buf.length) {
      return fail(`record length ${length} runs past end of file (${buf.length} bytes)`, buf.length);
    }
    const stored = buf.readUInt32LE(offset + 4);
    const actual = crc32(buf.subarray(offset + 8, end), crc);
    if (stored !== actual) {
      return fail(`crc mismatch (expected ${hex(stored)}, got ${hex(actual)})`, end);
    }
    const type = buf[offset + 8]!;
    if (!(type in RecordType)) throw new WalCorruptionError(path, offset, `unknown record type ${type}`);
    if (records.length === 0 && type !== RecordType.Crc) {
      throw new WalCorruptionError(path, offset, `segment starts with record type ${type}, not a crc record`);
    }
    records.push({ type, payload: buf.subarray(offset + RECORD_HEADER_SIZE, end), offset });
    crc = actual;
    offset = end;
  }
  return { records, validEnd: offset, lastCrc: crc };
}

export function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
