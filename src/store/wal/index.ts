// Durable storage under the Raft-backed store: the write-ahead log (entries, hard states and
// snapshot markers in crc-chained segment files, group-committed and fdatasynced before
// acknowledgement, torn tails repaired, corruption refused), the snapshotter (state-machine
// snapshots as checked files) and the binary codec both use.
export {
  CodecError,
  decodeEntry,
  decodeHardState,
  decodeSnapshotMetadata,
  encodeEntry,
  encodeHardState,
  encodeSnapshotMetadata,
  type SnapshotMarker,
} from "./codec.js";
export type { WalLogger } from "./files.js";
export { WalCorruptionError } from "./record.js";
export { WalGapError, WalNotFoundError, WalSnapshotNotFoundError } from "./replay.js";
export {
  DEFAULT_SNAPSHOTS_KEPT,
  Snapshotter,
  type SnapshotterOptions,
  snapshotFileName,
} from "./snapshotter.js";
export { DEFAULT_SEGMENT_SIZE, Wal, type WalOpenResult, type WalOptions, type WalStats } from "./wal.js";
