// The peer protocol below the message codec. A connection opens with a fixed-size hello
// from the dialer (magic "KITE", protocol version, channel, cluster id, sender and target
// member ids) answered by a fixed-size ack (status, the listener's cluster and member id).
// After that both directions carry frames: u32 payload length | u8 kind | payload.
// A stream connection carries messages and pings one way and pongs back; a snapshot
// connection carries exactly one message frame and gets one SnapshotAck frame back; a request
// connection carries one Request frame and gets one Response frame back (request.ts).
export class WireError extends Error {
  override name = "WireError";
}

const MAGIC = Buffer.from("KITE", "latin1");
export const PROTOCOL_VERSION = 1;
export const HELLO_SIZE = 32;
export const ACK_SIZE = 24;
export const FRAME_HEADER_SIZE = 5;
const U64_MAX = (1n << 64n) - 1n;

export enum Channel {
  Stream = 1,
  Snapshot = 2,
  /** One request and its response; the cluster and member ids in its hello may be 0 (unknown). */
  Request = 3,
}

export enum HelloStatus {
  Ok = 0,
  ClusterMismatch = 1,
  WrongMember = 2,
  UnknownSender = 3,
  UnsupportedVersion = 4,
  BadChannel = 5,
}

export function describeStatus(status: HelloStatus): string {
  switch (status) {
    case HelloStatus.Ok:
      return "ok";
    case HelloStatus.ClusterMismatch:
      return "cluster id mismatch";
    case HelloStatus.WrongMember:
      return "the listener is a different member than the one dialed";
    case HelloStatus.UnknownSender:
      return "the listener does not know this member as a peer";
    case HelloStatus.UnsupportedVersion:
      return "unsupported protocol version";
    case HelloStatus.BadChannel:
      return "unknown channel";
    default:
      return `unknown status ${status as number}`;
  }
}

export enum FrameKind {
  Message = 1,
  /** Payload: the sender's float64 timestamp, echoed back in a Pong. */
  Ping = 2,
  Pong = 3,
  /** Payload: u8, 1 when the receiver handed the snapshot message on. */
  SnapshotAck = 4,
  /** Payload: u16 LE method length, method (utf8), body. */
  Request = 5,
  /** Payload: u8 status (0 ok, 1 failed), then the body or the failure text. */
  Response = 6,
}

export interface Hello {
  version: number;
  channel: Channel;
  clusterId: bigint;
  from: number;
  to: number;
}

export interface HelloAck {
  version: number;
  status: HelloStatus;
  clusterId: bigint;
  memberId: number;
}

export function checkClusterId(id: bigint): void {
  if (id < 0n || id > U64_MAX) throw new WireError(`cluster id ${id} does not fit in 64 bits`);
}

function checkMemberId(id: number, what: string): void {
  if (!Number.isSafeInteger(id) || id < 0)
    throw new WireError(`${what} ${id} must be a non-negative safe integer`);
}

function readSafeU64(buf: Buffer, offset: number, what: string): number {
  const v = buf.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError(`${what} ${v} exceeds 2^53`);
  return Number(v);
}

function checkMagic(buf: Buffer, what: string): void {
  if (!buf.subarray(0, 4).equals(MAGIC)) {
    throw new WireError(`${what}: bad magic 0x${buf.subarray(0, 4).toString("hex")} (not a kite peer)`);
  }
}

export function encodeHello(h: Hello): Buffer {
  checkClusterId(h.clusterId);
  checkMemberId(h.from, "sender id");
  checkMemberId(h.to, "target id");
  const buf = Buffer.alloc(HELLO_SIZE);
  MAGIC.copy(buf, 0);
  buf.writeUInt16LE(h.version, 4);
  buf[6] = h.channel;
  buf.writeBigUInt64LE(h.clusterId, 8);
  buf.writeBigUInt64LE(BigInt(h.from), 16);
  buf.writeBigUInt64LE(BigInt(h.to), 24);
  return buf;
}

export function decodeHello(buf: Buffer): Hello {
  if (buf.length !== HELLO_SIZE)
    throw new WireError(`hello: expected ${HELLO_SIZE} bytes, got ${buf.length}`);
  checkMagic(buf, "hello");
  return {
    version: buf.readUInt16LE(4),
    channel: buf[6] as Channel,
    clusterId: buf.readBigUInt64LE(8),
    from: readSafeU64(buf, 16, "hello sender id"),
    to: readSafeU64(buf, 24, "hello target id"),
  };
}

export function encodeAck(a: HelloAck): Buffer {
  const buf = Buffer.alloc(ACK_SIZE);
  MAGIC.copy(buf, 0);
  buf.writeUInt16LE(a.version, 4);
  buf[6] = a.status;
  buf.writeBigUInt64LE(a.clusterId, 8);
  buf.writeBigUInt64LE(BigInt(a.memberId), 16);
  return buf;
}

export function decodeAck(buf: Buffer): HelloAck {
  if (buf.length !== ACK_SIZE)
    throw new WireError(`hello ack: expected ${ACK_SIZE} bytes, got ${buf.length}`);
  checkMagic(buf, "hello ack");
  return {
    version: buf.readUInt16LE(4),
    status: buf[6] as HelloStatus,
    clusterId: buf.readBigUInt64LE(8),
    memberId: readSafeU64(buf, 16, "hello ack member id"),
  };
}

/** Fills in the frame header of a buffer whose first FRAME_HEADER_SIZE bytes were left free. */
export function sealFrame(buf: Buffer, kind: FrameKind): Buffer {
  buf.writeUInt32LE(buf.length - FRAME_HEADER_SIZE, 0);
  buf[4] = kind;
  return buf;
}

export function controlFrame(kind: FrameKind, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.byteLength);
  buf.set(payload, FRAME_HEADER_SIZE);
  return sealFrame(buf, kind);
}

export interface Frame {
  kind: number;
  payload: Buffer;
}

/**
 * Bytes received on one connection, consumed first as the fixed-size hello or ack and then as
 * frames. A frame that arrives whole within one chunk is handed out without copying; one that
 * spans chunks is assembled once, when its last byte arrives.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  length = 0;

  /** maxFrameBytes may be raised once the connection's channel is known. */
  constructor(public maxFrameBytes: number) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** n bytes off the front, or undefined while fewer have arrived. */
  take(n: number): Buffer | undefined {
    if (this.length < n) return undefined;
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(n - filled, chunk.length - this.head);
      chunk.copy(out, filled, this.head, this.head + part);
      filled += part;
      this.advance(part);
    }
    return out;
  }

  private advance(n: number): void {
    this.length -= n;
    this.head += n;
    if (this.head === this.chunks[0]?.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }

  private peekU32(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length - this.head >= 4) return first.readUInt32LE(this.head);
    const bytes: number[] = [];
    let i = 0;
    let at = this.head;
    while (bytes.length < 4) {
      const chunk = this.chunks[i] as Buffer;
      if (at >= chunk.length) {
        i++;
        at = 0;
        continue;
      }
      bytes.push(chunk[at++] as number);
    }
    return Buffer.from(bytes).readUInt32LE(0);
  }

  /** The next complete frame, or undefined while it is still arriving. Throws on an oversized length. */
  nextFrame(): Frame | undefined {
    if (this.length < FRAME_HEADER_SIZE) return undefined;
    const payloadLength = this.peekU32();
    if (payloadLength > this.maxFrameBytes) {
      throw new WireError(`frame of ${payloadLength} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    const frame = this.take(FRAME_HEADER_SIZE + payloadLength);
    if (!frame) return undefined;
    return { kind: frame[4] as number, payload: frame.subarray(FRAME_HEADER_SIZE) };
  }
}
