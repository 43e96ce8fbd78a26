// What the job controller reads off its pods: which pods a job controls, which are active,
// succeeded, failed or ready, and the pod it creates from the job's template.
import type { KubeObject, OwnerReference } from "../../api/index.js";

export const JOBS = { group: "batch", version: "v1", resource: "jobs" } as const;
export const PODS = { group: "", version: "v1", resource: "pods" } as const;

export const controllerUidLabel = "batch.kubernetes.io/controller-uid";
export const jobNameLabel = "batch.kubernetes.io/job-name";

export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

export function isTerminal(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** Running or pending and not being deleted: counted in status.active. */
export function isActive(pod: KubeObject): boolean {
  return !isTerminal(pod) && !pod.metadata?.deletionTimestamp;
}

export function isReady(pod: KubeObject): boolean {
  const conditions: unknown[] = Array.isArray(pod.status?.conditions) ? pod.status.conditions : [];
  return conditions.some((c) => (c as KubeObject)?.type === "Ready" && (c as KubeObject)?.status === "True");
}

export interface PodCounts {
  active: KubeObject[];
  succeeded: number;
  failed: number;
  ready: number;
}

export function countPods(pods: KubeObject[]): PodCounts {
  const counts: PodCounts = { active: [], succeeded: 0, failed: 0, ready: 0 };
  for (const pod of pods) {
    if (pod.status?.phase === "Succeeded") counts.succeeded++;
    else if (pod.status?.phase === "Failed") counts.failed++;
    else if (isActive(pod)) {
      counts.active.push(pod);
      if (isReady(pod)) counts.ready++;
    }
  }
  return counts;
}

/** A pod from the job's template, controlled by the job. */
export function podFromTemplate(job: KubeObject): KubeObject {
  const template = job.spec?.template ?? {};
  const meta = template.metadata ?? {};
  const name = job.metadata?.name ?? "";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${name}-`,
      namespace: job.metadata?.namespace,
      labels: { ...(meta.labels ?? {}), [controllerUidLabel]: job.metadata?.uid ?? "", [jobNameLabel]: name },
      annotations: meta.annotations === undefined ? undefined : { ...meta.annotations },
      ownerReferences: [
        {
          apiVersion: "batch/v1",
          kind: "Job",
          name,
          uid: job.metadata?.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: structuredClone(template.spec ?? {}),
  };
}

/** Active pods to delete first when there are too many: not yet scheduled, then not ready, then newest. */
export function deletionOrder(a: KubeObject, b: KubeObject): number {
  const rank = (p: KubeObject) => (p.spec?.nodeName ? 1 : 0) + (isReady(p) ? 2 : 0);
  const r = rank(a) - rank(b);
  if (r !== 0) return r;
  return String(b.metadata?.creationTimestamp ?? "").localeCompare(
    String(a.metadata?.creationTimestamp ?? ""),
  );
}
