// How a client request travels inside a Raft log entry (etcd: InternalRaftRequest). Puts are
// the hot path and get a compact binary layout; the rarer kinds are JSON with bytes as base64
// and bigints as decimal strings. Every entry starts with a kind byte, the proposing member
// and its request id, so the applying member can hand the result back to the waiting caller.
//
//   byte 0       kind
//   bytes 1..8   proposing member id, u64 LE (below 2^53)
//   bytes 9..16  request id, u64 LE (below 2^53)
//   bytes 17..   payload
//   put payload: flags u8 (1 value, 2 prevKv, 4 ignoreValue, 8 ignoreLease), lease i64 LE,
//                key length u32 LE, key, value length u32 LE, value
import type { DeleteRangeRequest, LeaseId, PutRequest, TxnRequest } from "../mvcc/types.js";
import type { AlarmType } from "./types.js";

export type InternalRequest =
  | { kind: "put"; req: PutRequest }
  | { kind: "deleteRange"; req: DeleteRangeRequest }
  | { kind: "txn"; req: TxnRequest }
  | { kind: "compact"; req: { revision: number } }
  | { kind: "leaseGrant"; req: { id: LeaseId; ttl: number } }
  | { kind: "leaseRevoke"; req: { id: LeaseId } }
  | { kind: "alarm"; req: { action: "activate" | "deactivate"; memberId: bigint; alarm: AlarmType } }
  | { kind: "memberUpdate"; req: { id: number; peerURLs: string[] } }
  | { kind: "memberAttributes"; req: { id: number; name: string; clientURLs: string[] } };

export interface DecodedRequest {
  /** The member that proposed it: only that member has a caller waiting. */
  member: number;
  id: number;
  request: InternalRequest;
}

const KIND_CODES: Record<InternalRequest["kind"], number> = {
  put: 1,
  deleteRange: 2,
  txn: 3,
  compact: 4,
  leaseGrant: 5,
  leaseRevoke: 6,
  alarm: 7,
  memberUpdate: 8,
  memberAttributes: 9,
};
const KIND_BY_CODE = new Map(Object.entries(KIND_CODES).map(([k, c]) => [c, k as InternalRequest["kind"]]));

const HEADER_BYTES = 17;
const PUT_FIXED_BYTES = 1 + 8 + 4 + 4;
const FLAG_VALUE = 1;
const FLAG_PREV_KV = 2;
const FLAG_IGNORE_VALUE = 4;
const FLAG_IGNORE_LEASE = 8;
const TWO_POW_32 = 2 ** 32;

export class RequestCodecError extends Error {
  override name = "RequestCodecError";
}

function writeU53(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value >>> 0, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_POW_32), offset + 4);
}

function readU53(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset + 4) * TWO_POW_32 + buf.readUInt32LE(offset);
}

function writeHeader(buf: Buffer, kind: InternalRequest["kind"], member: number, id: number): void {
  buf[0] = KIND_CODES[kind];
  writeU53(buf, 1, member);
  writeU53(buf, 9, id);
}

export function encodeRequest(member: number, id: number, request: InternalRequest): Uint8Array {
  if (!Number.isSafeInteger(id) || id < 0) throw new RequestCodecError(`bad request id ${id}`);
  if (!Number.isSafeInteger(member) || member < 0) throw new RequestCodecError(`bad member id ${member}`);
  if (request.kind === "put") return encodePut(member, id, request.req);
  const json = Buffer.from(JSON.stringify(request.req, jsonReplacer), "utf8");
  const buf = Buffer.allocUnsafe(HEADER_BYTES + json.length);
  writeHeader(buf, request.kind, member, id);
  json.copy(buf, HEADER_BYTES);
  return buf;
}

function encodePut(member: number, id: number, req: PutRequest): Uint8Array {
  const value = req.value;
  const valueLength = value?.byteLength ?? 0;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + PUT_FIXED_BYTES + req.key.byteLength + valueLength);
  writeHeader(buf, "put", member, id);
  let o = HEADER_BYTES;
  buf[o++] =
    (value !== undefined ? FLAG_VALUE : 0) |
    (req.prevKv ? FLAG_PREV_KV : 0) |
    (req.ignoreValue ? FLAG_IGNORE_VALUE : 0) |
    (req.ignoreLease ? FLAG_IGNORE_LEASE : 0);
  buf.writeBigInt64LE(req.lease ?? 0n, o);
  o += 8;
  buf.writeUInt32LE(req.key.byteLength, o);
  o += 4;
  buf.set(req.key, o);
  o += req.key.byteLength;
  buf.writeUInt32LE(valueLength, o);
  o += 4;
  if (value !== undefined) buf.set(value, o);
  return buf;
}

export function decodeRequest(data: Uint8Array): DecodedRequest {
  if (data.byteLength < HEADER_BYTES)
    throw new RequestCodecError(`request entry too short: ${data.byteLength} bytes`);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const kind = KIND_BY_CODE.get(buf[0]!);
  if (kind === undefined) throw new RequestCodecError(`unknown request kind ${buf[0]}`);
  const member = readU53(buf, 1);
  const id = readU53(buf, 9);
  if (kind === "put") return { member, id, request: { kind, req: decodePut(buf) } };
  let req: unknown;
  try {
    req = JSON.parse(buf.toString("utf8", HEADER_BYTES), jsonReviver);
  } catch (err) {
    throw new RequestCodecError(`malformed ${kind} request: ${(err as Error).message}`);
  }
  return { member, id, request: { kind, req } as InternalRequest };
}

function decodePut(buf: Buffer): PutRequest {
  if (buf.length < HEADER_BYTES + PUT_FIXED_BYTES) throw new RequestCodecError("put request truncated");
  let o = HEADER_BYTES;
  const flags = buf[o++]!;
  const lease = buf.readBigInt64LE(o);
  o += 8;
  const keyLength = buf.readUInt32LE(o);
  o += 4;
  if (o + keyLength + 4 > buf.length) throw new RequestCodecError("put request key truncated");
  const key = buf.subarray(o, o + keyLength);
  o += keyLength;
  const valueLength = buf.readUInt32LE(o);
  o += 4;
  if (o + valueLength !== buf.length) throw new RequestCodecError("put request value length mismatch");
  const req: PutRequest = { key };
  if (flags & FLAG_VALUE) req.value = buf.subarray(o, o + valueLength);
  if (lease !== 0n) req.lease = lease;
  if (flags & FLAG_PREV_KV) req.prevKv = true;
  if (flags & FLAG_IGNORE_VALUE) req.ignoreValue = true;
  if (flags & FLAG_IGNORE_LEASE) req.ignoreLease = true;
  return req;
}

// Buffer has a toJSON that runs before the replacer, so the replacer looks at the holder's
// original value rather than the one it is handed.
function jsonReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (original instanceof Uint8Array) {
    return { $b: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString("base64") };
  }
  if (typeof value === "bigint") return { $n: value.toString() };
  return value;
}

function jsonReviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if (typeof o.$b === "string") return Buffer.from(o.$b, "base64");
    if (typeof o.$n === "string") return BigInt(o.$n);
  }
  return value;
}

/** The JSON-with-base64 encoding, also used for the snapshot envelope's header. */
export function toJsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, jsonReplacer), "utf8");
}

export function fromJsonBytes(bytes: Uint8Array): unknown {
  return JSON.parse(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"),
    jsonReviver,
  );
}
