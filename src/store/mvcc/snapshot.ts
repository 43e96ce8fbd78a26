// Snapshot wire format. The state is rebuilt by replaying: records older than the compact
// revision that survive compaction ("base", at most one live version per key), then every change
// from the compact revision on in commit order, then compacting again.
//
//   "KITEMVCC" u8(format=1)
//   uint revision, uint compactRevision
//   uint leaseCount, { int64 id, uint ttl }*
//   uint baseCount, record*
//   uint changeCount, record*
//   u32le crc32c of everything before it
// record = bytes key, uint modRevision, uint createRevision, uint version (0 = tombstone),
//          int64 lease, bytes value
import { crc32c, Reader, Writer } from "./codec.js";
import { type KeyValue, type LeaseId, MvccError } from "./types.js";

const MAGIC = Buffer.from("KITEMVCC", "latin1");
const FORMAT = 1;

export interface SnapshotState {
  revision: number;
  compactRevision: number;
  leases: { id: LeaseId; ttl: number }[];
  base: Iterable<KeyValue>;
  changes: Iterable<KeyValue>;
}

export interface DecodedSnapshot {
  revision: number;
  compactRevision: number;
  leases: { id: LeaseId; ttl: number }[];
  base: KeyValue[];
  changes: KeyValue[];
}

function writeRecord(w: Writer, kv: KeyValue): void {
  w.bytes(kv.key);
  w.uint(kv.modRevision);
  w.uint(kv.createRevision);
  w.uint(kv.version);
  w.int64(kv.lease);
  w.bytes(kv.value);
}

function readRecord(r: Reader): KeyValue {
  // Copies, so the records do not pin the whole snapshot buffer.
  const key = Buffer.from(r.bytes());
  const modRevision = r.uint();
  const createRevision = r.uint();
  const version = r.uint();
  const lease = r.int64();
  const value = Buffer.from(r.bytes());
  return { key, createRevision, modRevision, version, value, lease };
}

export function encodeSnapshot(s: SnapshotState, sizeHint: number): Buffer {
  const w = new Writer(Math.max(1024, sizeHint));
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
    const recs = Array.isArray(list) ? (list as KeyValue[]) : [...list];
    w.uint(recs.length);
    for (const kv of recs) writeRecord(w, kv);
  }
  const body = w.finish();
  const crc = Buffer.allocUnsafe(4);
  crc.writeUInt32LE(crc32c(body), 0);
  return Buffer.concat([body, crc]);
}

export function decodeSnapshot(data: Uint8Array): DecodedSnapshot {
  if (data.length < MAGIC.length + 5) throw new MvccError("BAD_SNAPSHOT", "too short");
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const body = buf.subarray(0, buf.length - 4);
  if (crc32c(body) !== buf.readUInt32LE(buf.length - 4))
    throw new MvccError("BAD_SNAPSHOT", "checksum mismatch");
  const r = new Reader(body);
  if (!r.raw(MAGIC.length).equals(MAGIC)) throw new MvccError("BAD_SNAPSHOT", "not a kite mvcc snapshot");
  const format = r.uint();
  if (format !== FORMAT) throw new MvccError("BAD_SNAPSHOT", `unsupported format ${format}`);
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
