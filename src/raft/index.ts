// src/raft owns the Raft consensus core: a pure, deterministic state machine in the design
// of etcd-io/raft (elections with PreVote and CheckQuorum, log replication with flow control,
// ReadIndex, snapshots, single-step membership changes with learners, leadership transfer).
// It does no I/O: the driver ticks it, feeds it messages, and handles each Ready (persist,
// send, apply) before calling advance(). Nothing here imports code outside src/raft.

export { decodeConfChange, encodeConfChange } from "./confchange.js";
export {
  CompactedError,
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  ProposalDroppedError,
  SnapOutOfDateError,
  UnavailableError,
} from "./errors.js";
export { RawNode } from "./rawnode.js";
export { MemoryStorage } from "./storage.js";
export * from "./types.js";
