// Little binary writer/reader for snapshots and hashKV. Writers for large images are sized up
// front from computed byte counts (uintSize), so building one copies every byte exactly once.
import { MvccError } from "./types.js";

/** Bytes Writer.uint(v) takes. */
export function uintSize(v: number): number {
  let n = 1;
  for (let limit = 0x80; v >= limit; limit *= 0x80) n++;
  return n;
}

export class Writer {
  private buf: Buffer;
  private pos = 0;

  /** capacity: the exact size of what will be written when known; the buffer grows if needed. */
  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Unsigned integer up to 2^53, LEB128. */
  uint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new MvccError("BAD_REQUEST", `cannot encode ${v}`);
    this.room(8);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7fffffff) {
      buf[pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    // Small enough for 32-bit operations from here on.
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  int64(v: bigint): void {
    this.room(8);
    // Most leases are 0: skip the BigInt conversion.
    if (v === 0n) {
      const buf = this.buf;
      const pos = this.pos;
      for (let i = 0; i < 8; i++) buf[pos + i] = 0;
    } else this.buf.writeBigInt64LE(v, this.pos);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.raw(b);
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** A view of the bytes written (valid until the next write after reset()). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Starts over, reusing the buffer. */
  reset(): void {
    this.pos = 0;
  }
}

export class Reader {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(data: Uint8Array) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new MvccError("BAD_SNAPSHOT", "truncated");
  }

  uint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      this.need(1);
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new MvccError("BAD_SNAPSHOT", "varint too long");
    }
    return v;
  }

  int64(): bigint {
    this.need(8);
    const pos = this.pos;
    this.pos += 8;
    if (this.buf.readUInt32LE(pos) === 0 && this.buf.readUInt32LE(pos + 4) === 0) return 0n;
    return this.buf.readBigInt64LE(pos);
  }

  /** A view into the snapshot buffer (no copy). */
  bytes(): Buffer {
    return this.raw(this.uint());
  }

  /** A private copy of a length-prefixed byte string (one allocation, no view). */
  bytesCopy(): Buffer {
    const n = this.uint();
    this.need(n);
    const b = Buffer.allocUnsafe(n);
    this.buf.copy(b, 0, this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  raw(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}
