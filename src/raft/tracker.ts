// The configuration (voters, learners) and, on the leader, a Progress per member. Ids are
// kept sorted so that every broadcast visits peers in the same order (determinism).

import { Progress } from "./progress.js";
import { committedIndex, hasQuorum, tallyVotes, type VoteResult } from "./quorum.js";
import type { ConfState, NodeId } from "./types.js";

export class ProgressTracker {
  readonly progress = new Map<NodeId, Progress>();
  /** Sorted voter ids. */
  voters: NodeId[] = [];
  /** Sorted learner ids. */
  learners: NodeId[] = [];
  /** Every member, sorted. */
  ids: NodeId[] = [];
  readonly votes = new Map<NodeId, boolean>();

  constructor(readonly maxInflight: number) {}

  static fromConfState(cs: ConfState, maxInflight: number, lastIndex: number): ProgressTracker {
    const trk = new ProgressTracker(maxInflight);
    for (const id of cs.voters) trk.progress.set(id, new Progress(lastIndex + 1, maxInflight, false));
    for (const id of cs.learners) {
      if (trk.progress.has(id)) throw new Error(`raft: node ${id} is in both voters and learners`);
      trk.progress.set(id, new Progress(lastIndex + 1, maxInflight, true));
    }
    trk.refresh();
    return trk;
  }

  /** Adds a member whose replication starts by probing at `next`. */
  add(id: NodeId, isLearner: boolean, next: number): void {
    const pr = new Progress(next, this.maxInflight, isLearner);
    // A new member counts as active so CheckQuorum does not fire before it could answer.
    pr.recentActive = true;
    this.progress.set(id, pr);
    this.refresh();
  }

  remove(id: NodeId): void {
    this.progress.delete(id);
    this.votes.delete(id);
    this.refresh();
  }

  setLearner(id: NodeId, isLearner: boolean): void {
    const pr = this.progress.get(id);
    if (pr === undefined) return;
    pr.isLearner = isLearner;
    this.refresh();
  }

  private refresh(): void {
    const byId = (a: number, b: number) => a - b;
    this.ids = [...this.progress.keys()].sort(byId);
    this.voters = this.ids.filter((id) => !this.progress.get(id)!.isLearner);
    this.learners = this.ids.filter((id) => this.progress.get(id)!.isLearner);
  }

  /** Fresh progress for every member, as a new term starts; self is matched up to lastIndex. */
  resetProgress(lastIndex: number, self: NodeId): void {
    for (const id of this.ids) {
      const pr = new Progress(lastIndex + 1, this.maxInflight, this.progress.get(id)!.isLearner);
      if (id === self) pr.match = lastIndex;
      this.progress.set(id, pr);
    }
  }

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  isVoter(id: NodeId): boolean {
    const pr = this.progress.get(id);
    return pr !== undefined && !pr.isLearner;
  }

  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)!.match);
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteResult {
    return tallyVotes(this.voters, this.votes);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Whether a quorum of voters was heard from recently (self always counts). */
  quorumActive(self: NodeId): boolean {
    return hasQuorum(this.voters, (id) => id === self || this.progress.get(id)!.recentActive);
  }
}
