// Pod facts the workload controllers share, as upstream's controller_utils and podutil define
// them: which pods count (active), ready and available, the order in which surplus pods are
// deleted, controller ownerReferences, and the slow-start batching of creates.
import type { KubeObject, OwnerReference } from "../../api/index.js";

export const PODS = { group: "", version: "v1", resource: "pods" } as const;

/** Not finished and not being deleted: upstream's FilterActivePods. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata?.deletionTimestamp;
}

function readyCondition(pod: KubeObject): { status?: string; lastTransitionTime?: string } | undefined {
  const conds = pod.status?.conditions;
  return Array.isArray(conds) ? conds.find((c: { type?: string }) => c?.type === "Ready") : undefined;
}

export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod)?.status === "True";
}

/** Ready for at least minReadySeconds at nowMs. */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, nowMs: number): boolean {
  const ready = readyCondition(pod);
  if (ready?.status !== "True") return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(ready.lastTransitionTime ?? "");
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= nowMs;
}

export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** The controller ownerReference a workload controller puts on what it creates or adopts. */
export function ownerRefTo(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata?.name ?? "",
    uid: owner.metadata?.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function restarts(pod: KubeObject): number {
  let n = 0;
  for (const s of pod.status?.containerStatuses ?? []) n = Math.max(n, Number(s?.restartCount ?? 0));
  return n;
}

function time(s: unknown): number {
  const t = Date.parse(typeof s === "string" ? s : "");
  return Number.isFinite(t) ? t : 0;
}

/**
 * Sorts pods so the ones to delete first come first, as upstream's ActivePodsWithRanks: unassigned
 * before assigned, Pending before Unknown before Running, not ready before ready, pods doubled up on
 * a node with their siblings before lone ones, ready for less time first, more restarts first,
 * newer first.
 */
export function sortPodsForDeletion(pods: KubeObject[], related: KubeObject[]): KubeObject[] {
  const perNode = new Map<string, number>();
  for (const p of related) {
    const node = p.spec?.nodeName;
    if (node && isPodActive(p)) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const rank = (p: KubeObject) => (p.spec?.nodeName ? (perNode.get(p.spec.nodeName) ?? 0) : 0);
  const compare = (a: KubeObject, b: KubeObject): number => {
    const aNode = a.spec?.nodeName ? 1 : 0;
    const bNode = b.spec?.nodeName ? 1 : 0;
    if (aNode !== bNode) return aNode - bNode;
    const aPhase = phaseRank[a.status?.phase ?? "Pending"] ?? 0;
    const bPhase = phaseRank[b.status?.phase ?? "Pending"] ?? 0;
    if (aPhase !== bPhase) return aPhase - bPhase;
    const aReady = isPodReady(a) ? 1 : 0;
    const bReady = isPodReady(b) ? 1 : 0;
    if (aReady !== bReady) return aReady - bReady;
    if (rank(a) !== rank(b)) return rank(b) - rank(a);
    if (aReady === 1) {
      const aSince = time(readyCondition(a)?.lastTransitionTime);
      const bSince = time(readyCondition(b)?.lastTransitionTime);
      if (aSince !== bSince) return bSince - aSince;
    }
    if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
    return time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp);
  };
  return [...pods].sort(compare);
}

/**
 * Runs fn count times in batches of 1, 2, 4, ... (upstream's slowStartBatch), stopping after the
 * first batch with a failure so a broken template does not flood the apiserver. Returns how many
 * succeeded and the first error.
 */
export async function slowStartBatch(
  count: number,
  initialBatch: number,
  fn: () => Promise<void>,
): Promise<{ succeeded: number; error?: unknown }> {
  let remaining = count;
  let succeeded = 0;
  for (let batch = Math.min(remaining, initialBatch); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, fn));
    const failed = results.find((r) => r.status === "rejected");
    succeeded += results.filter((r) => r.status === "fulfilled").length;
    if (failed) return { succeeded, error: (failed as PromiseRejectedResult).reason };
    remaining -= batch;
  }
  return { succeeded };
}
