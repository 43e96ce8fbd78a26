// Filter plugins, in upstream's default order. Each returns null when the node fits, or a rejection with
// the reasons upstream reports; the scheduler stops at the first plugin that rejects a node.
import type { KubeObject } from "../api/index.js";
import type { CycleState } from "./cycle.js";
import { filterInterPodAffinity } from "./interpodaffinity.js";
import { podMatchesNodeSelectorAndAffinity, toleratesTaint, tolerationsTolerate } from "./matching.js";
import type { NodeInfo } from "./nodeinfo.js";
import { insufficientReason, Reasons, type Rejection, untoleratedTaintReason } from "./reasons.js";

type Filter = (cycle: CycleState, node: NodeInfo) => Rejection | null;

function reject(plugin: string, reasons: string[], unresolvable: boolean): Rejection {
  return { plugin, reasons, unresolvable };
}

const unschedulableTaint = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };

function nodeUnschedulable(cycle: CycleState, node: NodeInfo): Rejection | null {
  if (!node.node.spec?.unschedulable) return null;
  if (tolerationsTolerate(cycle.tolerations, unschedulableTaint)) return null;
  return reject("NodeUnschedulable", [Reasons.unschedulable], true);
}

function nodeName(cycle: CycleState, node: NodeInfo): Rejection | null {
  const wanted = cycle.pod.spec?.nodeName;
  if (!wanted || wanted === node.name) return null;
  return reject("NodeName", [Reasons.nodeName], true);
}

function taintToleration(cycle: CycleState, node: NodeInfo): Rejection | null {
  for (const taint of node.node.spec?.taints ?? []) {
    if (taint?.effect !== "NoSchedule" && taint?.effect !== "NoExecute") continue;
    if (cycle.tolerations.some((t) => toleratesTaint(t, taint))) continue;
    return reject("TaintToleration", [untoleratedTaintReason(taint.key, taint.value)], true);
  }
  return null;
}

function nodeAffinity(cycle: CycleState, node: NodeInfo): Rejection | null {
  if (!cycle.hasNodeConstraints) return null;
  if (podMatchesNodeSelectorAndAffinity(cycle.pod, node.node)) return null;
  return reject("NodeAffinity", [Reasons.nodeAffinity], true);
}

function nodePorts(cycle: CycleState, node: NodeInfo): Rejection | null {
  for (const hp of cycle.hostPorts) {
    if (node.portConflicts(hp)) return reject("NodePorts", [Reasons.nodePorts], false);
  }
  return null;
}

function nodeResourcesFit(cycle: CycleState, node: NodeInfo): Rejection | null {
  const reasons: string[] = [];
  if (node.pods.length + 1 > node.allowedPodNumber) reasons.push(Reasons.tooManyPods);
  const want = cycle.requests.requests;
  const alloc = node.allocatable;
  const used = node.requested;
  if (want.milliCPU > 0 && want.milliCPU > alloc.milliCPU - used.milliCPU)
    reasons.push(insufficientReason("cpu"));
  if (want.memory > 0 && want.memory > alloc.memory - used.memory) reasons.push(insufficientReason("memory"));
  if (want.ephemeralStorage > 0 && want.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) {
    reasons.push(insufficientReason("ephemeral-storage"));
  }
  for (const [name, amount] of want.scalar) {
    if (amount > 0 && amount > (alloc.scalar.get(name) ?? 0) - (used.scalar.get(name) ?? 0)) {
      reasons.push(insufficientReason(name));
    }
  }
  return reasons.length > 0 ? reject("NodeResourcesFit", reasons, false) : null;
}

/** Upstream's default filter order (the volume plugins, which kite does not model, left out). */
export const defaultFilters: ReadonlyArray<Filter> = [
  nodeUnschedulable,
  nodeName,
  taintToleration,
  nodeAffinity,
  nodePorts,
  nodeResourcesFit,
  filterInterPodAffinity,
];

/** Runs the filters on one node; null means the pod fits there. */
export function runFilters(cycle: CycleState, node: NodeInfo): Rejection | null {
  for (const f of defaultFilters) {
    const r = f(cycle, node);
    if (r) return r;
  }
  return null;
}

export function podHasNodeConstraints(pod: KubeObject): boolean {
  return Boolean(
    pod.spec?.nodeSelector ||
      pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
  );
}
