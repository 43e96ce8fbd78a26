// The state-machine image inside a Raft snapshot: the server's own replicated state (cluster
// id, members, alarms) in a small JSON header, followed by the MVCC store's snapshot bytes.
//
//   "KITESRV1"  u32 LE header length  header JSON  MVCC snapshot
import { fromJsonBytes, toJsonBytes } from "./requestcodec.js";
import type { AlarmMember } from "./types.js";

const MAGIC = Buffer.from("KITESRV1", "latin1");

export interface MemberRecord {
  id: number;
  /** Empty until the member has started and published its attributes. */
  name: string;
  peerURLs: string[];
  /** Published by the member itself once it runs (etcd: the attributes update). */
  clientURLs?: string[];
  isLearner: boolean;
}

export interface ServerState {
  clusterId: bigint;
  members: MemberRecord[];
  alarms: AlarmMember[];
  /** Ids of removed members, never to be reused (etcd keeps them as "removed"). */
  removed?: number[];
}

export class SnapshotDataError extends Error {
  override name = "SnapshotDataError";
}

export function encodeSnapshotData(state: ServerState, mvcc: Uint8Array): Uint8Array {
  const header = toJsonBytes(state);
  const out = Buffer.allocUnsafe(MAGIC.length + 4 + header.length + mvcc.byteLength);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  out.set(mvcc, MAGIC.length + 4 + header.length);
  return out;
}

export function decodeSnapshotData(data: Uint8Array): { state: ServerState; mvcc: Uint8Array } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotDataError("snapshot data: bad magic");
  }
  const headerLength = buf.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  if (start + headerLength > buf.length) throw new SnapshotDataError("snapshot data: truncated header");
  let state: ServerState;
  try {
    state = fromJsonBytes(buf.subarray(start, start + headerLength)) as ServerState;
  } catch (err) {
    throw new SnapshotDataError(`snapshot data: bad header: ${(err as Error).message}`);
  }
  if (typeof state.clusterId !== "bigint" || !Array.isArray(state.members) || !Array.isArray(state.alarms)) {
    throw new SnapshotDataError("snapshot data: header misses clusterId, members or alarms");
  }
  return { state, mvcc: buf.subarray(start + headerLength) };
}
