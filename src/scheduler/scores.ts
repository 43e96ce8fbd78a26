// Score plugins with upstream's default weights. Each produces 0..100 per feasible node (after its own
// normalisation); the scheduler adds them up, weighted, and picks the highest total.
import type { CycleState } from "./cycle.js";
import {
  type NodeSelectorTerm,
  podMatchesNodeSelectorAndAffinity,
  termMatches,
  toleratesTaint,
} from "./matching.js";
import { controllerUID, type NodeInfo, type Snapshot } from "./nodeinfo.js";
import type { Resources } from "./resources.js";

export const maxNodeScore = 100;
export const hostnameLabel = "kubernetes.io/hostname";
export const zoneLabel = "topology.kubernetes.io/zone";

/** Upstream DefaultNormalizeScore: scale to 0..100 by the maximum; `reverse` flips so lower raw is better. */
export function defaultNormalize(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(maxNodeScore);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const scaled = Math.trunc((maxNodeScore * (scores[i] as number)) / max);
    scores[i] = reverse ? maxNodeScore - scaled : scaled;
  }
}

function cpuMem(r: Resources): [number, number] {
  return [r.milliCPU, r.memory];
}

/** NodeResourcesFit's default LeastAllocated strategy over cpu and memory (weight 1 each). */
function leastAllocated(cycle: CycleState, nodes: NodeInfo[]): number[] {
  const podReq = cpuMem(cycle.requests.nonZero);
  return nodes.map((n) => {
    const used = cpuMem(n.nonZeroRequested);
    const alloc = cpuMem(n.allocatable);
    let total = 0;
    let weights = 0;
    for (let i = 0; i < 2; i++) {
      const capacity = alloc[i] as number;
      if (capacity === 0) continue;
      const requested = (used[i] as number) + (podReq[i] as number);
      total += requested > capacity ? 0 : Math.trunc(((capacity - requested) * maxNodeScore) / capacity);
      weights++;
    }
    return weights === 0 ? 0 : Math.trunc(total / weights);
  });
}

/** Favors nodes whose cpu and memory fractions stay close; best-effort pods are not scored (all 0). */
function balancedAllocation(cycle: CycleState, nodes: NodeInfo[]): number[] {
  const podReq = cpuMem(cycle.requests.requests);
  if (podReq[0] === 0 && podReq[1] === 0) return nodes.map(() => 0);
  return nodes.map((n) => {
    const used = cpuMem(n.requested);
    const alloc = cpuMem(n.allocatable);
    const fractions: number[] = [];
    for (let i = 0; i < 2; i++) {
      if (alloc[i] === 0) continue;
      fractions.push(Math.min(1, ((used[i] as number) + (podReq[i] as number)) / (alloc[i] as number)));
    }
    const std =
      fractions.length === 2 ? Math.abs(((fractions[0] as number) - (fractions[1] as number)) / 2) : 0;
    return Math.trunc((1 - std) * maxNodeScore);
  });
}

/** Sum of the weights of matching preferred node-affinity terms, normalised. */
function preferredNodeAffinity(cycle: CycleState, nodes: NodeInfo[]): number[] {
  const prefs: Array<{ weight?: number; preference?: NodeSelectorTerm }> =
    cycle.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  if (prefs.length === 0) return nodes.map(() => 0);
  const scores = nodes.map((n) => {
    let s = 0;
    for (const p of prefs) if (p.weight && termMatches(p.preference, n.node)) s += p.weight;
    return s;
  });
  defaultNormalize(scores, false);
  return scores;
}

/** Fewer untolerated PreferNoSchedule taints is better. */
function taintToleration(cycle: CycleState, nodes: NodeInfo[]): number[] {
  const tolerations = cycle.tolerations.filter((t) => !t.effect || t.effect === "PreferNoSchedule");
  const scores = nodes.map((n) => {
    let count = 0;
    for (const taint of n.node.spec?.taints ?? []) {
      if (taint?.effect === "PreferNoSchedule" && !tolerations.some((t) => toleratesTaint(t, taint))) count++;
    }
    return count;
  });
  defaultNormalize(scores, true);
  return scores;
}

/**
 * PodTopologySpread with the system default constraints (hostname maxSkew 3, zone maxSkew 5, both
 * ScheduleAnyway). The pods to spread are those of the same controller (upstream derives them from the
 * Services/ReplicaSets/StatefulSets selecting the pod; the controller owner is kite's stand-in).
 */
function defaultTopologySpread(cycle: CycleState, nodes: NodeInfo[], snapshot: Snapshot): number[] {
  const owner = controllerUID(cycle.pod);
  if (!owner) return nodes.map(() => 0);
  const zoneCounts = new Map<string, number>();
  for (const n of nodes) zoneCounts.set(n.labels[zoneLabel] ?? "", 0);
  const hostWeight = Math.log(nodes.length + 2);
  const zoneWeight = Math.log(zoneCounts.size + 2);
  for (const n of snapshot.nodesByController.get(owner) ?? []) {
    const zone = n.labels[zoneLabel] ?? "";
    const current = zoneCounts.get(zone);
    if (current === undefined || !podMatchesNodeSelectorAndAffinity(cycle.pod, n.node)) continue;
    zoneCounts.set(zone, current + (n.podsByController.get(owner) ?? 0));
  }
  const raw = nodes.map((n) => {
    let s = 0;
    if (n.labels[hostnameLabel] !== undefined)
      s += (n.podsByController.get(owner) ?? 0) * hostWeight + (3 - 1);
    const zone = n.labels[zoneLabel];
    if (zone !== undefined) s += (zoneCounts.get(zone) ?? 0) * zoneWeight + (5 - 1);
    return Math.round(s);
  });
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const s of raw) {
    min = Math.min(min, s);
    max = Math.max(max, s);
  }
  return raw.map((s) => (max === 0 ? maxNodeScore : Math.trunc((maxNodeScore * (max + min - s)) / max)));
}

export interface ScorePlugin {
  name: string;
  weight: number;
  score(cycle: CycleState, nodes: NodeInfo[], snapshot: Snapshot): number[];
}

export const defaultScorePlugins: ReadonlyArray<ScorePlugin> = [
  { name: "NodeResourcesFit", weight: 1, score: leastAllocated },
  { name: "NodeResourcesBalancedAllocation", weight: 1, score: balancedAllocation },
  { name: "NodeAffinity", weight: 2, score: preferredNodeAffinity },
  { name: "TaintToleration", weight: 3, score: taintToleration },
  { name: "PodTopologySpread", weight: 2, score: defaultTopologySpread },
];

export interface NodeScore {
  node: string;
  total: number;
  byPlugin: Record<string, number>;
}

/** Weighted per-plugin scores for each feasible node, in the order given. */
export function scoreNodes(cycle: CycleState, nodes: NodeInfo[], snapshot: Snapshot): NodeScore[] {
  const out: NodeScore[] = nodes.map((n) => ({ node: n.name, total: 0, byPlugin: {} }));
  for (const plugin of defaultScorePlugins) {
    const scores = plugin.score(cycle, nodes, snapshot);
    for (let i = 0; i < out.length; i++) {
      const entry = out[i] as NodeScore;
      const s = scores[i] as number;
      entry.byPlugin[plugin.name] = s;
      entry.total += s * plugin.weight;
    }
  }
  return out;
}
