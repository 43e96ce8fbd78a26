// The leader's view of each follower: how far its log matches (match), what to send next
// (next), and the flow-control state: Probe (one MsgApp per heartbeat until the match point
// is found), Replicate (pipelined MsgApp bounded by Inflights) or Snapshot (waiting for a
// snapshot to be installed). Mirrors etcd-io/raft's tracker.Progress.

import { ProgressState } from "./types.js";

/** A ring buffer of the last indexes of in-flight MsgApp, bounded by maxInflightMsgs. */
export class Inflights {
  private readonly buffer: number[];
  private start = 0;
  count = 0;

  constructor(readonly size: number) {
    this.buffer = new Array<number>(size).fill(0);
  }

  add(lastIndex: number): void {
    if (this.full()) throw new Error("raft: cannot add into a full inflights");
    this.buffer[(this.start + this.count) % this.size] = lastIndex;
    this.count++;
  }

  /** Frees every in-flight message whose last index is <= to. */
  freeLE(to: number): void {
    while (this.count > 0 && this.buffer[this.start] <= to) {
      this.start = (this.start + 1) % this.size;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }

  freeFirstOne(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.size;
    this.count--;
  }

  full(): boolean {
    return this.count === this.size;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** In Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from within the current CheckQuorum period. */
  recentActive = false;
  /** In Probe state: a MsgApp was sent and no response or heartbeat response came back yet. */
  probeSent = false;
  /** The highest commit index this peer was told in a MsgApp. */
  sentCommit = 0;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      // Resume probing after the snapshot, not before it.
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records an acknowledgement up to n; false if it tells nothing new. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < n + 1) this.next = n + 1;
    return updated;
  }

  /**
   * Handles a rejected MsgApp for index `rejected`; `matchHint` is where the follower suggests
   * probing next. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In Probe state only the latest probe (at next-1) is relevant.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Bookkeeping after sending a MsgApp whose entries end at lastIndex (or none). */
  sentEntries(entryCount: number, lastIndex: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      default:
        return true;
    }
  }
}
