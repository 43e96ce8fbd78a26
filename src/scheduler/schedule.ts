// One scheduling decision: filter the nodes, score the feasible ones, pick the best (ties broken by a
// seeded reservoir draw, as upstream's selectHost). When nothing fits, a FitError carries the per-node
// rejections and renders upstream's event message.
import type { KubeObject } from "../api/index.js";
import { newCycleState } from "./cycle.js";
import { runFilters } from "./filters.js";
import { type ClusterState, type NodeInfo, Snapshot } from "./nodeinfo.js";
import type { Rejection } from "./reasons.js";
import { type NodeScore, scoreNodes } from "./scores.js";

/** A small deterministic PRNG (mulberry32); `intn(n)` is uniform in [0, n). */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  intn(n: number): number {
    return Math.floor(this.next() * n);
  }
}

export class FitError extends Error {
  constructor(
    readonly pod: KubeObject,
    readonly numAllNodes: number,
    /** node name -> why it was rejected. */
    readonly rejections: ReadonlyMap<string, Rejection>,
  ) {
    super("");
    this.name = "FitError";
    this.message = this.render();
  }

  /** Plugins that rejected at least one node; the queue uses them to decide which events may help. */
  get unschedulablePlugins(): Set<string> {
    return new Set([...this.rejections.values()].map((r) => r.plugin));
  }

  /**
   * Upstream's FitError text: "0/N nodes are available: <count> <reason>, ... ." with the "<count> <reason>"
   * strings sorted as strings. This is `message`; it carries no preemption part (see withPreemption).
   */
  private render(): string {
    // Upstream reports an empty cluster with ErrNoNodesAvailable's text instead of a histogram.
    if (this.numAllNodes === 0) return "no nodes available to schedule pods";
    const reasons: string[] = [];
    for (const r of this.rejections.values()) reasons.push(...r.reasons);
    return availabilityMessage(this.numAllNodes, reasons);
  }

  /**
   * The message with the part upstream's DefaultPreemption appends when it finds nothing to preempt:
   * " preemption: 0/N nodes are available: <k> No preemption victims found for incoming pod, <m> Preemption
   * is not helpful for scheduling." kite never preempts, so every node whose rejection preemption could
   * have resolved (resources, ports, anti-affinity) counts as "no victims found"; that is what upstream
   * reports too when no lower-priority pod is worth evicting.
   */
  withPreemption(): string {
    if (this.numAllNodes === 0) return this.message;
    const reasons: string[] = [];
    for (const r of this.rejections.values()) {
      reasons.push(
        r.unresolvable
          ? "Preemption is not helpful for scheduling"
          : "No preemption victims found for incoming pod",
      );
    }
    return `${this.message} preemption: ${availabilityMessage(this.numAllNodes, reasons)}`;
  }
}

/** "0/N nodes are available: 2 A, 1 B." with the "<count> <reason>" strings sorted as Go's sort.Strings. */
function availabilityMessage(numAllNodes: number, reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const parts = [...counts].map(([reason, n]) => `${n} ${reason}`);
  // sort.Strings compares bytes; < on these strings orders the same way for ASCII text.
  parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let msg = `0/${numAllNodes} nodes are available:`;
  if (parts.length > 0) msg += ` ${parts.join(", ")}.`;
  return msg;
}

export type ScheduleResult =
  | { node: string; evaluatedNodes: number; feasibleNodes: number }
  | { error: FitError };

export interface ScheduleOptions {
  /** Tie-break randomness; defaults to a fixed seed so results are reproducible. */
  rng?: Rng;
  /**
   * Upstream's percentageOfNodesToScore; 0 (the default) means adaptive: 50% minus 1% per 125 nodes, at
   * least 5%, and never fewer than 100 nodes.
   */
  percentageOfNodesToScore?: number;
  /** Carries where the next search starts, so that successive pods rotate over the nodes as upstream does. */
  cursor?: { nextStartNodeIndex: number };
}

const minFeasibleNodesToFind = 100;
const minFeasibleNodesPercentageToFind = 5;

export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < minFeasibleNodesToFind || percentage >= 100) return numAllNodes;
  let adaptive = percentage;
  if (adaptive <= 0) {
    adaptive = 50 - Math.trunc(numAllNodes / 125);
    if (adaptive < minFeasibleNodesPercentageToFind) adaptive = minFeasibleNodesPercentageToFind;
  }
  const n = Math.trunc((numAllNodes * adaptive) / 100);
  return Math.max(n, minFeasibleNodesToFind);
}

const defaultRng = () => new Rng(1);

/** Picks the highest total; among equals each has the same chance (reservoir sampling). */
export function selectHost(scores: NodeScore[], rng: Rng): string {
  let best = scores[0] as NodeScore;
  let ties = 1;
  for (let i = 1; i < scores.length; i++) {
    const s = scores[i] as NodeScore;
    if (s.total > best.total) {
      best = s;
      ties = 1;
    } else if (s.total === best.total) {
      ties++;
      if (rng.intn(ties) === 0) best = s;
    }
  }
  return best.node;
}

/**
 * Chooses a node for `pod`. `cluster` is either a Snapshot (reuse it and call `assume` after each
 * decision for throughput) or plain nodes + pods.
 */
export function schedulePod(
  pod: KubeObject,
  cluster: Snapshot | ClusterState,
  opts: ScheduleOptions = {},
): ScheduleResult {
  const snapshot = cluster instanceof Snapshot ? cluster : new Snapshot(cluster);
  const all = snapshot.nodeInfos;
  const rejections = new Map<string, Rejection>();
  if (all.length === 0) return { error: new FitError(pod, 0, rejections) };
  const cycle = newCycleState(pod, snapshot);
  const want = numFeasibleNodesToFind(all.length, opts.percentageOfNodesToScore);
  const cursor = opts.cursor ?? { nextStartNodeIndex: 0 };
  const start = cursor.nextStartNodeIndex % all.length;
  const feasible: NodeInfo[] = [];
  let evaluated = 0;
  for (; evaluated < all.length && feasible.length < want; evaluated++) {
    const info = all[(start + evaluated) % all.length] as NodeInfo;
    const rejection = runFilters(cycle, info);
    if (rejection) rejections.set(info.name, rejection);
    else feasible.push(info);
  }
  cursor.nextStartNodeIndex = (start + evaluated) % all.length;
  if (feasible.length === 0) return { error: new FitError(pod, all.length, rejections) };
  const stats = { evaluatedNodes: evaluated, feasibleNodes: feasible.length };
  // Upstream skips scoring when only one node is left.
  if (feasible.length === 1) return { node: (feasible[0] as NodeInfo).name, ...stats };
  const scores = scoreNodes(cycle, feasible, snapshot);
  return { node: selectHost(scores, opts.rng ?? defaultRng()), ...stats };
}
