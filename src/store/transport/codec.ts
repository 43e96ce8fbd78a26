// Binary encoding of one Raft message for the peer wire. Layout (little-endian):
//   type (u8, raftpb's numbering) | flags (u16) | each non-zero numeric field as u64, in the
//   order of NUMERIC_FIELDS | entries (u32 count + wal entry encodings) | snapshot (u32
//   metadata length + wal metadata encoding + u32 data length + data) | context (u32 + bytes)
// Numeric fields that are zero are left out (a flag bit says which are present), so a
// heartbeat costs ~35 bytes. Entries and snapshot metadata reuse the WAL codec byte for byte.
import { type Entry, type Message, MessageType, type Snapshot } from "../../raft/types.js";
import {
  CodecError,
  decodeEntry,
  decodeSnapshotMetadata,
  encodeEntryInto,
  encodeSnapshotMetadata,
  entryEncodedSize,
  Reader,
  writeU53,
} from "../wal/codec.js";

export { CodecError };

/** raftpb.MessageType order, so a type's code matches etcd's enum value. */
const TYPE_BY_CODE: readonly MessageType[] = [
  MessageType.Hup,
  MessageType.Beat,
  MessageType.Prop,
  MessageType.App,
  MessageType.AppResp,
  MessageType.Vote,
  MessageType.VoteResp,
  MessageType.Snap,
  MessageType.Heartbeat,
  MessageType.HeartbeatResp,
  MessageType.Unreachable,
  MessageType.SnapStatus,
  MessageType.CheckQuorum,
  MessageType.TransferLeader,
  MessageType.TimeoutNow,
  MessageType.ReadIndex,
  MessageType.ReadIndexResp,
  MessageType.PreVote,
  MessageType.PreVoteResp,
];
const CODE_BY_TYPE = new Map<MessageType, number>(TYPE_BY_CODE.map((t, code) => [t, code]));

type NumericField = "from" | "to" | "term" | "logTerm" | "index" | "commit" | "rejectHint";
const NUMERIC_FIELDS: readonly NumericField[] = [
  "from",
  "to",
  "term",
  "logTerm",
  "index",
  "commit",
  "rejectHint",
];

const FLAG_REJECT = 1 << 0;
const FLAG_ENTRIES = 1 << 1;
const FLAG_SNAPSHOT = 1 << 2;
const FLAG_CONTEXT = 1 << 3;
const FIELD_FLAG_SHIFT = 4;
const KNOWN_FLAGS = (1 << (FIELD_FLAG_SHIFT + NUMERIC_FIELDS.length)) - 1;

const HEADER_SIZE = 1 + 2;
/** Where a WAL-encoded entry keeps its data length: after term (u64), index (u64) and type (u8). */
const ENTRY_DATA_LENGTH_OFFSET = 17;
const ENTRY_FIXED_SIZE = ENTRY_DATA_LENGTH_OFFSET + 4;
const U32_MAX = 0xffffffff;

function checkLength(n: number, what: string): void {
  if (n > U32_MAX) throw new CodecError(`message ${what} is ${n} bytes; the wire limit is ${U32_MAX}`);
}

/** Exact number of bytes encodeMessageInto writes for m. */
function messageEncodedSize(m: Message, snapshotMetadata?: Uint8Array): number {
  let size = HEADER_SIZE;
  for (const f of NUMERIC_FIELDS) if (m[f] !== 0) size += 8;
  if (m.entries.length > 0) {
    size += 4;
    for (const e of m.entries) size += entryEncodedSize(e);
  }
  if (m.snapshot) size += 4 + (snapshotMetadata?.byteLength ?? 0) + 4 + m.snapshot.data.byteLength;
  if (m.context) size += 4 + m.context.byteLength;
  return size;
}

/** snapshotMetadata is the WAL encoding of m.snapshot.metadata, computed once by the caller. */
function encodeMessageInto(buf: Buffer, offset: number, m: Message, snapshotMetadata?: Uint8Array): number {
  const code = CODE_BY_TYPE.get(m.type);
  if (code === undefined) throw new CodecError(`unknown message type ${String(m.type)}`);
  let flags = 0;
  if (m.reject) flags |= FLAG_REJECT;
  if (m.entries.length > 0) flags |= FLAG_ENTRIES;
  if (m.snapshot) flags |= FLAG_SNAPSHOT;
  if (m.context) flags |= FLAG_CONTEXT;
  NUMERIC_FIELDS.forEach((f, i) => {
    if (m[f] !== 0) flags |= 1 << (FIELD_FLAG_SHIFT + i);
  });
  buf[offset] = code;
  buf.writeUInt16LE(flags, offset + 1);
  let o = offset + HEADER_SIZE;
  for (const f of NUMERIC_FIELDS) if (m[f] !== 0) o = writeU53(buf, o, m[f], `message ${f}`);
  if (m.entries.length > 0) {
    checkLength(m.entries.length, "entry count");
    buf.writeUInt32LE(m.entries.length, o);
    o += 4;
    for (const e of m.entries) o = encodeEntryInto(buf, o, e);
  }
  if (m.snapshot && snapshotMetadata) {
    o = writeBytes(buf, o, snapshotMetadata);
    o = writeBytes(buf, o, m.snapshot.data);
  }
  if (m.context) o = writeBytes(buf, o, m.context);
  return o;
}

function writeBytes(buf: Buffer, offset: number, bytes: Uint8Array): number {
  buf.writeUInt32LE(bytes.byteLength, offset);
  buf.set(bytes, offset + 4);
  return offset + 4 + bytes.byteLength;
}

/**
 * Encodes m after `prefix` zeroed bytes of room, so a frame header can be filled in without
 * copying the (possibly multi-megabyte) message a second time.
 */
export function encodeMessageWithPrefix(m: Message, prefix: number): Buffer {
  if (m.snapshot) checkLength(m.snapshot.data.byteLength, "snapshot data");
  if (m.context) checkLength(m.context.byteLength, "context");
  const meta = m.snapshot ? encodeSnapshotMetadata(m.snapshot.metadata) : undefined;
  const size = messageEncodedSize(m, meta);
  const buf = Buffer.allocUnsafe(prefix + size);
  buf.fill(0, 0, prefix);
  const end = encodeMessageInto(buf, prefix, m, meta);
  if (end !== prefix + size)
    throw new CodecError(`message encoder wrote ${end - prefix} bytes, expected ${size}`);
  return buf;
}

export function encodeMessage(m: Message): Uint8Array {
  return encodeMessageWithPrefix(m, 0);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes one message; throws CodecError naming the field on truncated, trailing or invalid
 * input. Entry data and context are copied; snapshot data is a view into `bytes` (it is most of
 * the buffer anyway), so callers must not reuse `bytes` afterwards.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  const buf = asBuffer(bytes);
  const r = new Reader(buf, "message");
  const code = r.u8("type");
  const type = TYPE_BY_CODE[code];
  if (type === undefined) throw new CodecError(`message: unknown type code ${code}`);
  const flags = r.u8("flags") | (r.u8("flags") << 8);
  if ((flags & ~KNOWN_FLAGS) !== 0)
    throw new CodecError(`message: unknown flag bits 0x${flags.toString(16)}`);
  const nums: Record<NumericField, number> = {
    from: 0,
    to: 0,
    term: 0,
    logTerm: 0,
    index: 0,
    commit: 0,
    rejectHint: 0,
  };
  NUMERIC_FIELDS.forEach((f, i) => {
    if (flags & (1 << (FIELD_FLAG_SHIFT + i))) nums[f] = r.u53(f);
  });
  const entries: Entry[] = [];
  if (flags & FLAG_ENTRIES) {
    const count = r.u32("entry count");
    for (let i = 0; i < count; i++) {
      if (r.offset + ENTRY_FIXED_SIZE > buf.length) {
        throw new CodecError(`message: truncated at entry ${i} of ${count}`);
      }
      const dataLength = buf.readUInt32LE(r.offset + ENTRY_DATA_LENGTH_OFFSET);
      entries.push(decodeEntry(r.view(ENTRY_FIXED_SIZE + dataLength, `entry ${i}`)));
    }
  }
  let snapshot: Snapshot | undefined;
  if (flags & FLAG_SNAPSHOT) {
    const metadata = decodeSnapshotMetadata(r.view(r.u32("snapshot metadata length"), "snapshot metadata"));
    const data = r.view(r.u32("snapshot data length"), "snapshot data");
    snapshot = { metadata, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }
  const context = flags & FLAG_CONTEXT ? r.bytes(r.u32("context length"), "context") : undefined;
  r.end();
  const m: Message = {
    type,
    from: nums.from,
    to: nums.to,
    term: nums.term,
    logTerm: nums.logTerm,
    index: nums.index,
    entries,
    commit: nums.commit,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint: nums.rejectHint,
  };
  if (snapshot) m.snapshot = snapshot;
  if (context) m.context = context;
  return m;
}
