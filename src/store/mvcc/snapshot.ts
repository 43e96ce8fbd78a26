// Snapshot wire format. The state is rebuilt by replaying: records older than the compact
// revision that survive compaction ("base", at most one live version per key), then every change
// from the compact revision on in commit order, then compacting again.
//
//   "KITEMVCC" u8(format=2)
//   uint revision, uint compactRevision
//   uint leaseCount, { int64 id, uint ttl }*
//   uint baseCount, record*
//   uint changeCount, record*
//   u32le crc32 (zlib's) of everything before it
// record = bytes key, uint modRevision, uint createRevision, uint version (0 = tombstone),
//          int64 lease, bytes value
//
// Images reach tens of MB and are built on the event loop, so the encoder computes the exact
// size first and writes into one buffer, and the checksum is zlib's native crc32.
import { crc32 } from "node:zlib";
import { Reader, uintSize, Writer } from "./codec.js";
import { type KeyValue, type LeaseId, MvccError } from "./types.js";

const MAGIC = Buffer.from("KITEMVCC", "latin1");
const FORMAT = 2;
const CHECKSUM_SIZE = 4;

export interface SnapshotState {
  revision: number;
  compactRevision: number;
  leases: { id: LeaseId; ttl: number }[];
  base: KeyValue[];
  changes: KeyValue[];
}

export type DecodedSnapshot = SnapshotState;

function recordSize(kv: KeyValue): number {
  const k = kv.key.length;
  const v = kv.value.length;
  return (
    uintSize(k) +
    k +
    uintSize(kv.modRevision) +
    uintSize(kv.createRevision) +
    uintSize(kv.version) +
    8 +
    uintSize(v) +
    v
  );
}

/** Appends one record: the layout shared by snapshots and hashKV. */
export function writeRecord(w: Writer, kv: KeyValue): void {
  w.bytes(kv.key);
  w.uint(kv.modRevision);
  w.uint(kv.createRevision);
  w.uint(kv.version);
  w.int64(kv.lease);
  w.bytes(kv.value);
}

/** Key is a view into the image; the caller replaces it with its own copy. */
function readRecord(r: Reader): KeyValue {
  const key = r.bytes();
  const modRevision = r.uint();
  const createRevision = r.uint();
  const version = r.uint();
  const lease = r.int64();
  // Copied, so the store does not pin the whole image.
  const value = r.bytesCopy();
  return { key, createRevision, modRevision, version, value, lease };
}

function imageSize(s: SnapshotState): number {
  let size =
    MAGIC.length +
    uintSize(FORMAT) +
    uintSize(s.revision) +
    uintSize(s.compactRevision) +
    uintSize(s.leases.length);
  for (const l of s.leases) size += 8 + uintSize(l.ttl);
  for (const list of [s.base, s.changes]) {
    size += uintSize(list.length);
    for (const kv of list) size += recordSize(kv);
  }
  return size + CHECKSUM_SIZE;
}

export function encodeSnapshot(s: SnapshotState): Buffer {
  const size = imageSize(s);
  const w = new Writer(size);
  w.raw(MAGIC);
  w.uint(FORMAT);
  w.uint(s.revision);
  w.uint(s.compactRevision);
  w.uint(s.leases.length);
  for (const l of s.leases) {
    w.int64(l.id);
    w.uint(l.ttl);
  }
  for (const list of [s.base, s.changes]) {
    w.uint(list.length);
    for (const kv of list) writeRecord(w, kv);
  }
  const crc = Buffer.allocUnsafe(CHECKSUM_SIZE);
  crc.writeUInt32LE(crc32(w.finish()), 0);
  w.raw(crc);
  if (w.length !== size) throw new Error(`mvcc: snapshot image is ${w.length} bytes, sized ${size}`);
  return w.finish();
}

export function decodeSnapshot(data: Uint8Array): DecodedSnapshot {
  if (data.length < MAGIC.length + 1 + CHECKSUM_SIZE) throw new MvccError("BAD_SNAPSHOT", "too short");
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const body = buf.subarray(0, buf.length - CHECKSUM_SIZE);
  const r = new Reader(body);
  if (!r.raw(MAGIC.length).equals(MAGIC)) throw new MvccError("BAD_SNAPSHOT", "not a kite mvcc snapshot");
  const format = r.uint();
  if (format !== FORMAT) throw new MvccError("BAD_SNAPSHOT", `unsupported format ${format}`);
  if (crc32(body) !== buf.readUInt32LE(body.length)) throw new MvccError("BAD_SNAPSHOT", "checksum mismatch");
  const revision = r.uint();
  const compactRevision = r.uint();
  const leases: { id: LeaseId; ttl: number }[] = [];
  for (let n = r.uint(); n > 0; n--) leases.push({ id: r.int64(), ttl: r.uint() });
  const base: KeyValue[] = [];
  for (let n = r.uint(); n > 0; n--) base.push(readRecord(r));
  const changes: KeyValue[] = [];
  for (let n = r.uint(); n > 0; n--) changes.push(readRecord(r));
  if (!r.done) throw new MvccError("BAD_SNAPSHOT", "trailing bytes");
  if (compactRevision > revision) throw new MvccError("BAD_SNAPSHOT", "compact revision above revision");
  return { revision, compactRevision, leases, base, changes };
}
