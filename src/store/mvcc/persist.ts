// Snapshot and hash views over an MvccStore's state.
import { crc32c, Writer } from "./codec.js";
import { type DecodedSnapshot, decodeSnapshot, encodeSnapshot } from "./snapshot.js";
import type { MvccStore } from "./store.js";
import type { KeyValue } from "./types.js";

export function snapshotState(
  store: MvccStore,
  revision: number,
  compactRevision: number,
  sizeHint: number,
): Buffer {
  const base: KeyValue[] = [];
  for (const h of store.histories()) {
    for (const kv of h.recs) {
      if (kv.modRevision >= compactRevision) break;
      base.push(kv);
    }
  }
  const log = store.changes;
  const changes: KeyValue[] = [];
  for (let i = log.first; i < log.end; i++) changes.push(log.rec(i));
  return encodeSnapshot(
    { revision, compactRevision, leases: store.leases.sorted(), base, changes },
    sizeHint + 1024,
  );
}

export function restoreState(data: Uint8Array): DecodedSnapshot {
  return decodeSnapshot(data);
}

/** CRC-32C over the compact revision and every kept record at or below rev, in key order. */
export function hashState(store: MvccStore, rev: number): number {
  let w = new Writer(1 << 16);
  let crc = 0;
  w.uint(store.compactRevision);
  let pending = 8;
  for (const h of store.histories()) {
    for (const kv of h.recs) {
      if (kv.modRevision > rev) break;
      w.bytes(kv.key);
      w.uint(kv.modRevision);
      w.uint(kv.createRevision);
      w.uint(kv.version);
      w.int64(kv.lease);
      w.bytes(kv.value);
      pending += kv.key.length + kv.value.length + 40;
      if (pending > 1 << 15) {
        crc = crc32c(w.finish(), crc);
        w = new Writer(1 << 16);
        pending = 0;
      }
    }
  }
  return crc32c(w.finish(), crc);
}
