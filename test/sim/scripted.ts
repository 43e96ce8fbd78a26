// A calm cluster for scripted scenarios: fixed one-tick delays, no loss, no random faults,
// so a test decides exactly what goes wrong and when.
import { StateType } from "../../src/raft/index.js";
import { Cluster } from "./cluster.js";
import type { RaftTuning, SimNode } from "./node.js";

export function calmCluster(nodes: number, seed = 1, tuning: Partial<RaftTuning> = {}): Cluster {
  return new Cluster({
    seed,
    nodes,
    tuning: {
      electionTick: 10,
      heartbeatTick: 1,
      preVote: true,
      checkQuorum: true,
      maxSizePerMsg: 1 << 20,
      maxInflightMsgs: 256,
      ...tuning,
    },
    network: { minDelay: 1, maxDelay: 1, dropRate: 0, duplicateRate: 0 },
  });
}

/** Makes node `id` campaign and waits until it leads with its no-op committed everywhere it can reach. */
export function elect(c: Cluster, id: number): SimNode {
  const n = c.node(id);
  n.raw!.campaign();
  c.runUntil(() => n.role === StateType.Leader && n.commit === n.lastIndex(), 100, `n${id} leading`);
  return n;
}

/** Waits until every live member has applied the leader's last index. */
export function converged(c: Cluster, maxTicks = 200): void {
  c.runUntil(
    () => {
      const leader = c.leader();
      if (leader === undefined) return false;
      const last = leader.lastIndex();
      return leader.commit === last && c.live().every((n) => n.sm!.applied === last);
    },
    maxTicks,
    "all live members applying the leader's log",
  );
}

/** Campaigns on node `id` (again after each lost round) until it leads. */
export function winElection(c: Cluster, id: number, rounds = 5): SimNode {
  const n = c.node(id);
  const leads = () => n.role === StateType.Leader;
  for (let i = 0; i < rounds && !leads(); i++) {
    n.raw!.campaign();
    for (let t = 0; t < 4 && !leads(); t++) c.tick();
  }
  if (!leads()) throw new Error(`n${id} did not win an election in ${rounds} rounds`);
  return n;
}
