// Taints and tolerations as the node lifecycle controller reads them: which NoExecute taint a
// node's Ready condition calls for, whether a pod tolerates a taint, and when taint-based
// eviction is due (the shortest tolerationSeconds among the tolerations used, counted from the
// taint's timeAdded so that a restarted controller keeps the same deadline).
import type { KubeObject } from "../../api/index.js";

export const unreachableTaintKey = "node.kubernetes.io/unreachable";
export const notReadyTaintKey = "node.kubernetes.io/not-ready";

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export function taintsOf(node: KubeObject): Taint[] {
  return Array.isArray(node.spec?.taints) ? node.spec.taints : [];
}

export function readyCondition(node: KubeObject): KubeObject | undefined {
  const list: KubeObject[] = Array.isArray(node.status?.conditions) ? node.status.conditions : [];
  return list.find((c) => c.type === "Ready");
}

/** The taint key the Ready condition calls for: unreachable when Unknown, not-ready when False. */
export function taintKeyFor(ready: KubeObject | undefined): string | undefined {
  if (ready === undefined || ready.status === "Unknown") return unreachableTaintKey;
  if (ready.status === "False") return notReadyTaintKey;
  return undefined;
}

/**
 * The node's taints with the lifecycle taints (NoSchedule and NoExecute) made to match `key`;
 * undefined when nothing changes.
 */
export function withLifecycleTaints(
  node: KubeObject,
  key: string | undefined,
  now: string,
): Taint[] | undefined {
  const current = taintsOf(node);
  const ours = (t: Taint) =>
    (t.key === unreachableTaintKey || t.key === notReadyTaintKey) &&
    (t.effect === "NoExecute" || t.effect === "NoSchedule");
  const keep = current.filter((t) => !ours(t) || t.key === key);
  const next = [...keep];
  if (key !== undefined)
    for (const effect of ["NoSchedule", "NoExecute"])
      if (!keep.some((t) => t.key === key && t.effect === effect))
        next.push(effect === "NoExecute" ? { key, effect, timeAdded: now } : { key, effect });
  return next.length === current.length && keep.length === current.length ? undefined : next;
}

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  const operator = toleration.operator || "Equal";
  if (operator === "Exists") return !toleration.key || toleration.key === taint.key;
  if (toleration.key !== taint.key) return false;
  return operator === "Equal" && (toleration.value ?? "") === (taint.value ?? "");
}

/**
 * When the pod must go, in ms since the epoch: -Infinity when a NoExecute taint is not tolerated,
 * Infinity when every one is tolerated forever. `firstSeen` stands in for a missing timeAdded.
 */
export function evictionDue(pod: KubeObject, taints: Taint[], firstSeen: (t: Taint) => number): number {
  const noExecute = taints.filter((t) => t.effect === "NoExecute");
  if (noExecute.length === 0) return Number.POSITIVE_INFINITY;
  const tolerations: Toleration[] = Array.isArray(pod.spec?.tolerations) ? pod.spec.tolerations : [];
  let minSeconds = Number.POSITIVE_INFINITY;
  let since = Number.NEGATIVE_INFINITY;
  for (const taint of noExecute) {
    const used = tolerations.find((t) => tolerates(t, taint));
    if (used === undefined) return Number.NEGATIVE_INFINITY;
    const added = Date.parse(taint.timeAdded ?? "");
    since = Math.max(since, Number.isNaN(added) ? firstSeen(taint) : added);
    if (typeof used.tolerationSeconds === "number")
      minSeconds = Math.min(minSeconds, Math.max(0, used.tolerationSeconds));
  }
  return minSeconds === Number.POSITIVE_INFINITY ? minSeconds : since + minSeconds * 1000;
}
