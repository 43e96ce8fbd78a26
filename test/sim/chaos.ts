// A seeded chaos run: every seed draws its own fault profile (delays, loss, duplication,
// partitions, crashes, compaction, membership changes, leadership transfers, forced
// campaigns, clock skew) and workload (proposals and ReadIndex requests on random nodes).
// After the chaos phase the network heals, crashed nodes restart, and a fresh proposal must
// commit on every voter within LIVENESS_ELECTIONS election timeouts.
import { ConfChangeType, EntryType, type NodeId, StateType } from "../../src/raft/index.js";
import { Cluster } from "./cluster.js";
import { SafetyViolation } from "./invariants.js";
import type { NetworkOptions } from "./network.js";
import type { RaftTuning } from "./node.js";
import { Rng } from "./rng.js";

export interface SimOptions {
  seed: number;
  /** Cluster size; by default 3, 5 or 7 chosen by the seed. */
  nodes?: number;
  /** Ticks of chaos before the liveness phase. */
  steps?: number;
  traceMessages?: boolean;
  verbose?: boolean;
}

export interface SimResult {
  seed: number;
  nodes: number;
  ticks: number;
  livenessTicks: number;
  proposalsCommitted: number;
  proposalsDropped: number;
  maxTerm: number;
  stats: Cluster["stats"];
  trace: string[];
}

export const DEFAULT_STEPS = 1000;
export const ELECTION_TICK = 10;
/**
 * After healing, a fresh proposal must be applied by every voter within this many election
 * timeouts: restarted nodes must first elect a leader (randomized timeouts in [E, 2E), a few
 * split or pre-vote-rejected rounds), that leader must commit its no-op, finish any pending
 * conf change and bring lagging or new voters up by appends or a snapshot. The slowest of
 * 10,000 seeds needed 271 ticks. A typical slow case (seed 1287, 166 ticks): with PreVote
 * off, two voters whose configuration still counted a removed member kept starting
 * elections they could not win, bumping the term until the one up-to-date voter happened to
 * time out first. The bound leaves room for such rare, legitimate storms; a real stall never
 * finishes.
 */
export const LIVENESS_ELECTIONS = 60;

interface Rates {
  propose: number;
  read: number;
  partition: number;
  heal: number;
  crash: number;
  restart: number;
  /** A crash followed at once by a restart: loses only what was never persisted. */
  reboot: number;
  compact: number;
  conf: number;
  transfer: number;
  campaign: number;
  /** Chance that a newly elected leader is crashed or cut off a few ticks into its term. */
  ambush: number;
  skew: number;
}

interface Profile {
  tuning: RaftTuning;
  network: NetworkOptions;
  crashAfterPersist: number;
  rates: Rates;
}

function drawProfile(r: Rng): Profile {
  return {
    tuning: {
      electionTick: ELECTION_TICK,
      heartbeatTick: r.pick([1, 2, 3]),
      preVote: r.chance(0.5),
      checkQuorum: r.chance(0.5),
      maxSizePerMsg: r.pick([16, 256, 1 << 20]),
      maxInflightMsgs: r.pick([1, 4, 256]),
      maxUncommittedEntriesSize: r.pick([undefined, 512]),
      maxCommittedSizePerReady: r.pick([undefined, 64]),
      disableProposalForwarding: r.chance(0.2),
    },
    network: {
      minDelay: r.pick([0, 0, 1]),
      maxDelay: r.pick([1, 2, 3, 5]),
      dropRate: r.pick([0, 0.01, 0.05, 0.15]),
      duplicateRate: r.pick([0, 0.01, 0.05]),
    },
    crashAfterPersist: r.pick([0, 0.0005, 0.002]),
    rates: {
      propose: r.pick([0.2, 0.5, 0.9]),
      read: r.pick([0.02, 0.1, 0.3]),
      partition: r.pick([0, 0.005, 0.02, 0.05]),
      heal: r.pick([0.02, 0.05, 0.1]),
      crash: r.pick([0, 0.003, 0.01, 0.03]),
      restart: r.pick([0.02, 0.05, 0.1]),
      reboot: r.pick([0, 0.01, 0.05]),
      compact: r.pick([0.01, 0.05, 0.2]),
      conf: r.pick([0, 0.005, 0.02]),
      transfer: r.pick([0, 0.005, 0.02]),
      campaign: r.pick([0, 0.003, 0.01]),
      ambush: r.pick([0, 0.1, 0.3]),
      skew: r.pick([0, 0.05]),
    },
  };
}

export function defaultNodes(seed: number): number {
  return [3, 5, 7][Math.abs(seed) % 3]!;
}

/** The command that replays one run exactly. */
export function replayCommand(opts: SimOptions): string {
  let cmd = `npm run sim -- --seed ${opts.seed}`;
  if (opts.nodes !== undefined) cmd += ` --nodes ${opts.nodes}`;
  if (opts.steps !== undefined) cmd += ` --steps ${opts.steps}`;
  return cmd;
}

/** A failed run: the violation plus everything needed to replay it. */
export class SimFailure extends Error {
  constructor(
    readonly options: SimOptions,
    readonly tick: number,
    override readonly cause: unknown,
    readonly trace: string[],
  ) {
    const what = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
    super(`seed ${options.seed} failed at tick ${tick}: ${what}\nreplay: ${replayCommand(options)}`);
    this.name = "SimFailure";
  }
}

export function runSimulation(opts: SimOptions): SimResult {
  const profileRng = new Rng(opts.seed);
  const profile = drawProfile(profileRng);
  const nodes = opts.nodes ?? defaultNodes(opts.seed);
  const cluster = new Cluster({
    seed: profileRng.uint32(),
    nodes,
    tuning: profile.tuning,
    network: { ...profile.network },
    crashAfterPersistRate: profile.crashAfterPersist,
    traceMessages: opts.traceMessages,
    verbose: opts.verbose,
  });
  const run = new ChaosRun(cluster, profile);
  try {
    cluster.log(`seed ${opts.seed}: ${nodes} nodes, ${JSON.stringify(profile)}`);
    for (let i = 0; i < (opts.steps ?? DEFAULT_STEPS); i++) run.step();
    const livenessTicks = run.converge(opts.seed);
    return {
      seed: opts.seed,
      nodes,
      ticks: cluster.now,
      livenessTicks,
      proposalsCommitted: run.committed.size,
      proposalsDropped: run.dropped,
      maxTerm: Math.max(...[...cluster.nodes.values()].map((n) => n.term)),
      stats: cluster.stats,
      trace: cluster.trace,
    };
  } catch (err) {
    if (err instanceof SafetyViolation) {
      err.message = `${err.message} (seed ${opts.seed}, tick ${cluster.now})`;
    }
    throw new SimFailure(opts, cluster.now, err, cluster.trace);
  }
}

class ChaosRun {
  readonly committed = new Set<string>();
  dropped = 0;
  private proposals = 0;
  private readCount = 0;
  private readonly rng: Rng;
  private lastLeaderTerm = 0;
  /** A pending ambush on a new leader: which node, in which term, at which tick. */
  private ambush: { id: NodeId; term: number; at: number } | undefined;
  /** Where the liveness probe entry landed (0 until some node applies it). */
  private finalIndex = 0;
  private finalMarker = "";

  constructor(
    private readonly cluster: Cluster,
    private readonly profile: Profile,
  ) {
    this.rng = cluster.rng;
    cluster.onApplied = (_node, e) => {
      if (e.data.length === 0 || e.type !== EntryType.Normal) return;
      const text = new TextDecoder().decode(e.data);
      this.committed.add(text);
      if (text === this.finalMarker && this.finalIndex === 0) this.finalIndex = e.index;
    };
  }

  step(): void {
    const { rates } = this.profile;
    const c = this.cluster;
    const r = this.rng;
    const live = c.live();
    if (live.length > 0 && r.chance(rates.propose)) {
      const padding = r.chance(0.2) ? "x".repeat(r.int(200)) : "";
      if (!c.propose(r.pick(live).id, `p${this.proposals++}${padding}`)) this.dropped++;
    }
    if (live.length > 0 && r.chance(rates.read)) c.readIndex(r.pick(live).id, `r${this.readCount++}`);
    if (r.chance(rates.partition)) this.partition();
    if (r.chance(rates.heal)) c.heal();
    const down = c.members().filter((n) => !n.up);
    if (live.length > 1 && r.chance(rates.crash)) c.crash(r.pick(live).id);
    if (down.length > 0 && r.chance(rates.restart)) c.restart(r.pick(down).id);
    const running = c.live();
    if (running.length > 0 && r.chance(rates.reboot)) {
      const id = r.pick(running).id;
      c.crash(id);
      c.restart(id);
    }
    if (running.length > 0 && r.chance(rates.compact)) {
      const line = r.pick(running).compact(r.range(0, 10));
      if (line !== undefined) c.log(line);
    }
    if (r.chance(rates.conf)) this.changeMembership();
    if (r.chance(rates.transfer)) this.transferLeader();
    this.ambushNewLeader();
    const campaigners = c.live();
    if (campaigners.length > 0 && r.chance(rates.campaign)) {
      const n = r.pick(campaigners);
      c.log(`n${n.id} is told to campaign`);
      n.raw!.campaign();
    }
    const skip = new Set<NodeId>();
    const extra = new Set<NodeId>();
    for (const n of c.live()) {
      if (r.chance(rates.skew)) (r.chance(0.5) ? skip : extra).add(n.id);
    }
    c.tick(skip, extra);
  }

  /**
   * Strikes a leader early in its term, while it may hold entries of older terms that it has
   * replicated but not yet covered with an entry of its own term (Raft paper, Figure 8).
   */
  private ambushNewLeader(): void {
    const c = this.cluster;
    const r = this.rng;
    const leader = c.leader();
    if (leader !== undefined && leader.term > this.lastLeaderTerm) {
      this.lastLeaderTerm = leader.term;
      if (r.chance(this.profile.rates.ambush))
        this.ambush = { id: leader.id, term: leader.term, at: c.now + r.int(4) };
    }
    const a = this.ambush;
    if (a === undefined || c.now < a.at) return;
    this.ambush = undefined;
    const target = c.node(a.id);
    if (!target.up || target.term !== a.term || target.role !== StateType.Leader) return;
    if (r.chance(0.5)) {
      c.crash(a.id);
    } else {
      const others = c
        .members()
        .map((n) => n.id)
        .filter((id) => id !== a.id);
      c.partition([a.id], others);
    }
  }

  private partition(): void {
    const c = this.cluster;
    const r = this.rng;
    const ids = c.members().map((n) => n.id);
    if (ids.length < 2) return;
    const kind = r.int(4);
    const leader = c.leader();
    if (kind === 0) {
      r.shuffle(ids);
      const k = r.range(1, ids.length - 1);
      c.partition(ids.slice(0, k), ids.slice(k));
    } else if (kind === 1 && leader !== undefined) {
      c.partition(
        [leader.id],
        ids.filter((id) => id !== leader.id),
      );
    } else if (kind === 2 && leader !== undefined) {
      // The seed's story: the leader and one follower cut off from the rest.
      const others = r.shuffle(ids.filter((id) => id !== leader.id));
      c.partition([leader.id, others[0]!], others.slice(1));
    } else {
      for (let i = r.range(1, 3); i > 0; i--) {
        const [from, to] = r.shuffle([...ids]);
        c.cutOneWay(from!, to!);
      }
    }
  }

  private changeMembership(): void {
    const c = this.cluster;
    const r = this.rng;
    const leader = c.leader();
    if (leader === undefined) return;
    const conf = leader.sm!.confState;
    const inConf = new Set([...conf.voters, ...conf.learners]);
    const idle = c.members().filter((n) => !inConf.has(n.id)).length;
    const options: (() => void)[] = [];
    const grow = idle < 2 && inConf.size < c.options.nodes + 2;
    if (grow) {
      options.push(() => this.confChange(leader.id, ConfChangeType.AddLearnerNode, c.spawn().id));
      options.push(() => this.confChange(leader.id, ConfChangeType.AddNode, c.spawn().id));
    }
    if (conf.learners.length > 0) {
      options.push(() => this.confChange(leader.id, ConfChangeType.AddNode, r.pick(conf.learners)));
      options.push(() => this.confChange(leader.id, ConfChangeType.RemoveNode, r.pick(conf.learners)));
    }
    if (conf.voters.length > 3) {
      options.push(() => this.confChange(leader.id, ConfChangeType.RemoveNode, r.pick(conf.voters)));
    }
    if (options.length > 0) r.pick(options)();
  }

  private confChange(on: NodeId, type: ConfChangeType, nodeId: NodeId): void {
    const ok = this.cluster.proposeConfChange(on, { type, nodeId });
    this.cluster.log(
      `propose conf change ${ConfChangeType[type]} n${nodeId} on n${on}: ${ok ? "ok" : "dropped"}`,
    );
  }

  private transferLeader(): void {
    const leader = this.cluster.leader();
    if (leader === undefined) return;
    const voters = leader.sm!.confState.voters.filter((id) => id !== leader.id);
    if (voters.length === 0) return;
    const to = this.rng.pick(voters);
    this.cluster.log(`n${leader.id} is asked to transfer leadership to n${to}`);
    leader.raw!.transferLeader(to);
  }

  /** Heals everything, then waits for a fresh proposal to reach every voter. Returns ticks used. */
  converge(seed: number): number {
    const c = this.cluster;
    c.heal();
    const net = c.network.options;
    c.network.options = { ...net, minDelay: 0, maxDelay: Math.min(net.maxDelay, 2), dropRate: 0 };
    c.options.crashAfterPersistRate = 0;
    for (const n of c.members()) if (!n.up) c.restart(n.id);
    this.finalMarker = `final-${seed}`;
    const start = c.now;
    let lastTry = -Infinity;
    // A voter has the probe once it applied it or installed a snapshot covering it.
    const allVotersHaveIt = () =>
      this.finalIndex > 0 &&
      c.checker.latestConf().voters.every((id) => (c.node(id).sm?.applied ?? 0) >= this.finalIndex);
    c.runUntil(
      () => {
        const leader = c.leader();
        if (leader !== undefined && this.finalIndex === 0 && c.now - lastTry >= ELECTION_TICK) {
          lastTry = c.now;
          c.propose(leader.id, this.finalMarker);
        }
        return allVotersHaveIt();
      },
      LIVENESS_ELECTIONS * ELECTION_TICK,
      `after healing, a leader committing "${this.finalMarker}" on every voter`,
    );
    return c.now - start;
  }
}
