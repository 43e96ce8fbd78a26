// Errors the Raft core throws. Storage errors are singletons compared by identity, as in
// etcd-io/raft (ErrCompacted, ErrUnavailable, ErrSnapOutOfDate); a dropped proposal carries
// the reason it was dropped so the caller can decide whether to retry elsewhere.

/** Thrown by Storage when the requested index is at or below the last compaction point. */
export class CompactedError extends Error {
  constructor() {
    super("raft: requested index is unavailable due to compaction");
    this.name = "CompactedError";
  }
}

/** Thrown by Storage when the requested index is beyond the last stored entry. */
export class UnavailableError extends Error {
  constructor() {
    super("raft: requested entry at index is unavailable");
    this.name = "UnavailableError";
  }
}

/** Thrown when applying or creating a snapshot that is not newer than the current one. */
export class SnapOutOfDateError extends Error {
  constructor() {
    super("raft: requested index is older than the existing snapshot");
    this.name = "SnapOutOfDateError";
  }
}

export const ErrCompacted: CompactedError = new CompactedError();
export const ErrUnavailable: UnavailableError = new UnavailableError();
export const ErrSnapOutOfDate: SnapOutOfDateError = new SnapOutOfDateError();

/**
 * A proposal (or read request) the node could not accept. The message says why, e.g.
 * "raft: proposal dropped: no leader". Nothing was appended; the caller may retry.
 */
export class ProposalDroppedError extends Error {
  readonly reason: string;
  constructor(reason: string, what = "proposal") {
    super(`raft: ${what} dropped: ${reason}`);
    this.name = "ProposalDroppedError";
    this.reason = reason;
  }
}
