// Majority arithmetic over the voter set: the commit index a quorum has reached, election
// tallies and CheckQuorum activity. Learners never appear in these sets.

import type { NodeId } from "./types.js";

export enum VoteResult {
  Pending = 0,
  Won = 1,
  Lost = 2,
}

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The highest index acknowledged by a majority of voters (0 with no voters). */
export function committedIndex(voters: NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1];
}

export function tallyVotes(voters: NodeId[], votes: Map<NodeId, boolean>): VoteResult {
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = quorumSize(voters.length);
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

export function hasQuorum(voters: NodeId[], isYes: (id: NodeId) => boolean): boolean {
  let yes = 0;
  for (const id of voters) if (isYes(id)) yes++;
  return yes >= quorumSize(voters.length);
}
