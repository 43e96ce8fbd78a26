// Who leads, as this member's driver sees it: the leader and role from each Ready's soft state
// (with the lessor promoted or demoted and the leader metrics kept), callers waiting for a
// leader, and faster failover when the leader's process dies.
//
// Failover: a dead leader's peer connections close at once, but Raft alone notices only after
// an election timeout drawn from [E, 2E), and with CheckQuorum and PreVote the other followers
// refuse pre-votes until their own lease (E since the last heartbeat) runs out. So when the
// stream to the leader breaks, a voting follower forgets the leader (it then grants
// pre-votes) and, if no leader has shown up meanwhile, campaigns after a delay staggered by its
// rank among the surviving voters (rank 0 almost at once, the next after E/2, ...), so the
// survivors do not split the vote by campaigning together. Only liveness is at stake: a
// campaign is always safe. A false alarm (the connection broke but the leader lives) costs
// little: the other followers, still hearing the leader, refuse the pre-vote, so no term
// changes, and this follower follows again at the next heartbeat.
import { NONE, type RawNode } from "../../raft/index.js";
import { type NodeId, StateType } from "../../raft/types.js";
import type { Lessor } from "../mvcc/index.js";
import type { ServerMetrics } from "./metrics.js";
import { LeaderSignal } from "./signals.js";

export interface LeadershipHost {
  readonly memberId: NodeId;
  readonly node: RawNode;
  readonly lessor: Lessor;
  readonly metrics: ServerMetrics;
  readonly electionMs: number;
  readonly random: () => number;
  voters(): readonly NodeId[];
  /** Runs f on Raft unless the driver stopped, then schedules the Ready loop. */
  poke(f: () => void): void;
}

export class Leadership {
  leader: NodeId = NONE;
  raftState: StateType = StateType.Follower;
  private readonly signal = new LeaderSignal();
  private campaignTimer: NodeJS.Timeout | undefined;

  constructor(private readonly host: LeadershipHost) {}

  get isLeader(): boolean {
    return this.raftState === StateType.Leader;
  }

  /** Resolves once a leader is known; fails with NoLeader after timeoutMs without one. */
  known(timeoutMs: number): Promise<void> {
    return this.signal.wait(this.leader !== NONE, timeoutMs);
  }

  /** Takes in a Ready's soft state. */
  update(lead: NodeId, state: StateType): void {
    const { metrics, lessor } = this.host;
    const wasLeader = this.isLeader;
    if (lead !== this.leader) {
      if (lead !== NONE) metrics.leaderChanges.inc();
      this.leader = lead;
    }
    this.raftState = state;
    metrics.hasLeader.set(lead === NONE ? 0 : 1);
    metrics.isLeader.set(this.isLeader ? 1 : 0);
    if (this.isLeader && !wasLeader) lessor.promote(this.host.electionMs);
    if (!this.isLeader && wasLeader) lessor.demote();
    if (lead !== NONE) this.signal.known();
  }

  /** The transport lost its established stream to member id. */
  peerLost(id: NodeId): void {
    const { host } = this;
    if (id !== this.leader || this.isLeader) return;
    const survivors = host
      .voters()
      .filter((v) => v !== id)
      .sort((a, b) => a - b);
    const rank = survivors.indexOf(host.memberId);
    if (rank < 0) return;
    host.poke(() => host.node.forgetLeader());
    const delayMs = (rank * host.electionMs) / 2 + (host.random() * host.electionMs) / 10;
    this.stop();
    this.campaignTimer = setTimeout(() => {
      this.campaignTimer = undefined;
      const { lead, raftState } = host.node.status().softState;
      if (lead === NONE && raftState === StateType.Follower) host.poke(() => host.node.campaign());
    }, delayMs);
    this.campaignTimer.unref();
  }

  stop(): void {
    clearTimeout(this.campaignTimer);
    this.campaignTimer = undefined;
  }
}
