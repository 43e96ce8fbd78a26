// Deployment status and conditions as upstream's sync.go/progress.go compute them: replica counts
// summed over the ReplicaSets, Available (MinimumReplicasAvailable/Unavailable) and Progressing
// (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
// ProgressDeadlineExceeded, DeploymentPaused/Resumed), and when to look again for a deadline.
import type { KubeObject } from "../../api/index.js";
import { maxUnavailable, replicasOf, sumSpecReplicas, sumStatus } from "./util.js";

export interface DeploymentCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  unavailableReplicas: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
}

/** progressDeadlineSeconds unset means "never time out" (upstream's MaxInt32). */
const NO_DEADLINE = 2147483647;

export function nowStamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function getCondition(
  status: { conditions?: DeploymentCondition[] } | undefined,
  type: string,
): DeploymentCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Adds or replaces the condition; the same status and reason is left alone (keeps its times). */
export function setCondition(
  status: { conditions?: DeploymentCondition[] },
  cond: DeploymentCondition,
): void {
  const current = getCondition(status, cond.type);
  if (current?.status === cond.status && current.reason === cond.reason) return;
  const next = { ...cond };
  if (current?.status === cond.status) next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), next];
}

export function removeCondition(status: { conditions?: DeploymentCondition[] }, type: string): void {
  status.conditions = (status.conditions ?? []).filter((c) => c.type !== type);
}

export function newCondition(
  type: string,
  status: DeploymentCondition["status"],
  reason: string,
  message: string,
): DeploymentCondition {
  const now = nowStamp();
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

export function hasProgressDeadline(d: KubeObject): boolean {
  const s = d.spec?.progressDeadlineSeconds;
  return typeof s === "number" && s !== NO_DEADLINE;
}

export function calculateStatus(
  allRSs: KubeObject[],
  newRS: KubeObject | undefined,
  d: KubeObject,
): DeploymentStatus {
  const available = sumStatus(allRSs, "availableReplicas");
  const status: DeploymentStatus = {
    observedGeneration: d.metadata?.generation,
    replicas: sumStatus(allRSs, "replicas"),
    updatedReplicas: newRS ? sumStatus([newRS], "replicas") : 0,
    readyReplicas: sumStatus(allRSs, "readyReplicas"),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sumSpecReplicas(allRSs) - available),
    conditions: structuredClone(d.status?.conditions ?? []),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (available >= replicasOf(d) - maxUnavailable(d))
    setCondition(
      status,
      newCondition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
    );
  else
    setCondition(
      status,
      newCondition(
        "Available",
        "False",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
      ),
    );
  return status;
}

/** Every replica updated and available, and the current generation observed. */
export function deploymentComplete(d: KubeObject, s: DeploymentStatus): boolean {
  const want = replicasOf(d);
  return (
    s.updatedReplicas === want &&
    s.replicas === want &&
    s.availableReplicas === want &&
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
  );
}

/** More pods updated, ready or available, or fewer old pods, than the last recorded status. */
export function deploymentProgressing(d: KubeObject, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = Number(old.replicas ?? 0) - Number(old.updatedReplicas ?? 0);
  const newOld = s.replicas - s.updatedReplicas;
  return (
    s.updatedReplicas > Number(old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    s.readyReplicas > Number(old.readyReplicas ?? 0) ||
    s.availableReplicas > Number(old.availableReplicas ?? 0)
  );
}

export function deploymentTimedOut(d: KubeObject, s: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getCondition(s, "Progressing");
  if (cond === undefined || cond.reason === "NewReplicaSetAvailable") return false;
  if (cond.reason === "ProgressDeadlineExceeded") return true;
  const from = Date.parse(cond.lastUpdateTime ?? "");
  return Number.isFinite(from) && from + d.spec.progressDeadlineSeconds * 1000 < nowMs;
}

/**
 * The status to write after a rollout step, with Progressing brought up to date; plus, while a
 * rollout is still progressing, how long until its deadline should be checked again.
 */
export function rolloutStatus(
  allRSs: KubeObject[],
  newRS: KubeObject | undefined,
  d: KubeObject,
  nowMs = Date.now(),
): { status: DeploymentStatus; recheckAfterMs?: number } {
  const status = calculateStatus(allRSs, newRS, d);
  if (!hasProgressDeadline(d)) removeCondition(status, "Progressing");
  const current = getCondition(status, "Progressing");
  const complete = status.replicas === status.updatedReplicas && current?.reason === "NewReplicaSetAvailable";
  if (hasProgressDeadline(d) && !d.spec?.paused && !complete) {
    const rsName = newRS?.metadata?.name ?? "";
    if (deploymentComplete(d, status)) {
      setCondition(
        status,
        newCondition(
          "Progressing",
          "True",
          "NewReplicaSetAvailable",
          `ReplicaSet "${rsName}" has successfully progressed.`,
        ),
      );
    } else if (deploymentProgressing(d, status)) {
      // Progress moves the deadline: lastUpdateTime is refreshed, lastTransitionTime kept.
      const cond = newCondition(
        "Progressing",
        "True",
        "ReplicaSetUpdated",
        `ReplicaSet "${rsName}" is progressing.`,
      );
      if (current?.status === "True") cond.lastTransitionTime = current.lastTransitionTime;
      removeCondition(status, "Progressing");
      setCondition(status, cond);
    } else if (deploymentTimedOut(d, status, nowMs)) {
      setCondition(
        status,
        newCondition(
          "Progressing",
          "False",
          "ProgressDeadlineExceeded",
          `ReplicaSet "${rsName}" has timed out progressing.`,
        ),
      );
    }
  }
  const progressing = getCondition(status, "Progressing");
  let recheckAfterMs: number | undefined;
  if (
    hasProgressDeadline(d) &&
    progressing?.status === "True" &&
    progressing.reason !== "NewReplicaSetAvailable" &&
    !deploymentComplete(d, status)
  ) {
    const from = Date.parse(progressing.lastUpdateTime ?? "");
    if (Number.isFinite(from))
      recheckAfterMs = Math.max(1, from + d.spec.progressDeadlineSeconds * 1000 - nowMs + 1);
  }
  return { status, recheckAfterMs };
}
