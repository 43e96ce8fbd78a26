// Snapshot and hash views over an MvccStore's state.
import { crc32 } from "node:zlib";
import { Writer } from "./codec.js";
import { type DecodedSnapshot, decodeSnapshot, encodeSnapshot, writeRecord } from "./snapshot.js";
import type { MvccStore } from "./store.js";
import type { KeyValue } from "./types.js";

/** hashState checksums in chunks of about this many bytes, reusing one buffer. */
const HASH_CHUNK = 1 << 16;

export function snapshotState(store: MvccStore, revision: number, compactRevision: number): Buffer {
  const base: KeyValue[] = [];
  for (const h of store.histories()) {
    for (const kv of h.recs) {
      if (kv.modRevision >= compactRevision) break;
      base.push(kv);
    }
  }
  const log = store.changes;
  const changes: KeyValue[] = new Array(log.end - log.first);
  for (let i = log.first; i < log.end; i++) changes[i - log.first] = log.rec(i);
  return encodeSnapshot({ revision, compactRevision, leases: store.leases.sorted(), base, changes });
}

/** The snapshot's state; record keys are views into data, for the store to replace with its own. */
export function restoreState(data: Uint8Array): DecodedSnapshot {
  return decodeSnapshot(data);
}

/**
 * crc32 over the compact revision and every kept record at or below rev, in key order, in the
 * snapshot's record layout. Same state => same hash, however the bytes are chunked.
 */
export function hashState(store: MvccStore, rev: number): number {
  const w = new Writer(HASH_CHUNK * 2);
  let crc = 0;
  w.uint(store.compactRevision);
  for (const h of store.histories()) {
    for (const kv of h.recs) {
      if (kv.modRevision > rev) break;
      writeRecord(w, kv);
      if (w.length >= HASH_CHUNK) {
        crc = crc32(w.finish(), crc);
        w.reset();
      }
    }
  }
  return crc32(w.finish(), crc);
}
