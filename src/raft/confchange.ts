// The byte encoding of a ConfChange inside a ConfChange log entry.
//
// Layout (big-endian), 10 bytes plus the context:
//   byte 0      format version, always 1
//   byte 1      ConfChangeType (0 AddNode, 1 RemoveNode, 2 AddLearnerNode)
//   bytes 2..9  nodeId as two uint32 halves (high, low); ids stay below 2^53
//   bytes 10..  context, opaque to Raft (may be empty)

import { type ConfChange, ConfChangeType, type ConfState, type NodeId } from "./types.js";

const FORMAT_VERSION = 1;
const HEADER_BYTES = 10;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (!Number.isSafeInteger(cc.nodeId) || cc.nodeId <= 0) {
    throw new Error(`raft: conf change node id must be a positive safe integer, got ${cc.nodeId}`);
  }
  if (ConfChangeType[cc.type] === undefined) throw new Error(`raft: unknown conf change type ${cc.type}`);
  const context = cc.context ?? new Uint8Array(0);
  const out = new Uint8Array(HEADER_BYTES + context.length);
  const view = new DataView(out.buffer);
  out[0] = FORMAT_VERSION;
  out[1] = cc.type;
  view.setUint32(2, Math.floor(cc.nodeId / 2 ** 32));
  view.setUint32(6, cc.nodeId >>> 0);
  out.set(context, HEADER_BYTES);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < HEADER_BYTES) {
    throw new Error(`raft: malformed conf change: ${data.length} bytes, need at least ${HEADER_BYTES}`);
  }
  if (data[0] !== FORMAT_VERSION) throw new Error(`raft: malformed conf change: unknown version ${data[0]}`);
  const type = data[1] as ConfChangeType;
  if (ConfChangeType[type] === undefined)
    throw new Error(`raft: malformed conf change: unknown type ${type}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const nodeId = view.getUint32(2) * 2 ** 32 + view.getUint32(6);
  if (nodeId === 0 || !Number.isSafeInteger(nodeId)) {
    throw new Error(`raft: malformed conf change: bad node id ${nodeId}`);
  }
  const cc: ConfChange = { type, nodeId };
  if (data.length > HEADER_BYTES) cc.context = data.subarray(HEADER_BYTES);
  return cc;
}

/** A ConfState with sorted, de-duplicated id lists, so equal configurations compare equal. */
export function normalizeConfState(voters: Iterable<NodeId>, learners: Iterable<NodeId>): ConfState {
  const byId = (a: number, b: number) => a - b;
  return { voters: [...new Set(voters)].sort(byId), learners: [...new Set(learners)].sort(byId) };
}
