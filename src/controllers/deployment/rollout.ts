// The two rollout strategies, as upstream's rolling.go and recreate.go. RollingUpdate grows the new
// ReplicaSet while the total stays within replicas+maxSurge and shrinks old ones while at least
// replicas-maxUnavailable pods stay available; Recreate scales every old ReplicaSet to zero, waits
// for their pods to be gone, then scales the new one up.
import type { KubeObject } from "../../api/index.js";
import { deploymentComplete, rolloutStatus } from "./progress.js";
import {
  cleanupHistory,
  type ReplicaSetsView,
  type SyncContext,
  scaleReplicaSet,
  syncRevision,
  writeStatus,
} from "./sync.js";
import { byCreation, maxUnavailable, newReplicaSetReplicas, replicasOf, sumSpecReplicas } from "./util.js";

export interface StepResult {
  /** Ask to be synced again after this long (progress deadline checks). */
  recheckAfterMs?: number;
}

/** Writes status with Progressing brought up to date. */
export async function syncRolloutStatus(
  s: SyncContext,
  d: KubeObject,
  view: ReplicaSetsView,
): Promise<StepResult> {
  const { status, recheckAfterMs } = rolloutStatus(view.all, view.newRS, d);
  await writeStatus(s, d, status);
  return { recheckAfterMs };
}

export async function rolloutRolling(
  s: SyncContext,
  d: KubeObject,
  rsList: KubeObject[],
): Promise<StepResult> {
  const view = await syncRevision(s, d, rsList, true);
  const newRS = view.newRS as KubeObject;
  if (await reconcileNewReplicaSet(s, d, view, newRS)) return syncRolloutStatus(s, d, view);
  if (await reconcileOldReplicaSets(s, d, view, newRS)) return syncRolloutStatus(s, d, view);
  if (deploymentComplete(d, rolloutStatus(view.all, newRS, d).status))
    await cleanupHistory(s, d, view.oldRSs);
  return syncRolloutStatus(s, d, view);
}

async function reconcileNewReplicaSet(
  s: SyncContext,
  d: KubeObject,
  view: ReplicaSetsView,
  newRS: KubeObject,
): Promise<boolean> {
  const want = replicasOf(d);
  if (replicasOf(newRS) === want) return false;
  const target = replicasOf(newRS) > want ? want : newReplicaSetReplicas(d, view.all, newRS);
  if (target === replicasOf(newRS)) return false;
  await scaleReplicaSet(s, d, newRS, target);
  return true;
}

async function reconcileOldReplicaSets(
  s: SyncContext,
  d: KubeObject,
  view: ReplicaSetsView,
  newRS: KubeObject,
): Promise<boolean> {
  if (sumSpecReplicas(view.oldRSs) === 0) return false;
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = replicasOf(newRS) - Number(newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = sumSpecReplicas(view.all) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  const oldest = [...view.oldRSs].sort(byCreation);
  // Unhealthy old replicas go first: removing them costs no availability.
  let cleaned = 0;
  for (const rs of oldest) {
    if (cleaned >= maxScaledDown) break;
    const unavailable = replicasOf(rs) - Number(rs.status?.availableReplicas ?? 0);
    if (replicasOf(rs) === 0 || unavailable <= 0) continue;
    const n = Math.min(maxScaledDown - cleaned, unavailable);
    await scaleReplicaSet(s, d, rs, replicasOf(rs) - n);
    cleaned += n;
  }
  // A ReplicaSet's status may still count pods its lowered spec is about to delete: never more than spec.
  const available = view.all.reduce(
    (n, rs) => n + Math.min(replicasOf(rs), Number(rs.status?.availableReplicas ?? 0)),
    0,
  );
  let budget = available - minAvailable;
  let scaledDown = 0;
  for (const rs of oldest) {
    if (budget <= 0) break;
    if (replicasOf(rs) === 0) continue;
    const n = Math.min(replicasOf(rs), budget);
    await scaleReplicaSet(s, d, rs, replicasOf(rs) - n);
    budget -= n;
    scaledDown += n;
  }
  return cleaned + scaledDown > 0;
}

/** Whether any pod of the old ReplicaSets still exists and has not finished. */
export function oldPodsRunning(pods: KubeObject[], oldRSs: KubeObject[]): boolean {
  if (oldRSs.some((rs) => Number(rs.status?.replicas ?? 0) > 0)) return true;
  const uids = new Set(oldRSs.map((rs) => rs.metadata?.uid));
  return pods.some((p) => {
    const owner = p.metadata?.ownerReferences?.find((r) => r.controller);
    if (owner === undefined || !uids.has(owner.uid)) return false;
    // A terminating pod may still be running; only finished or vanished pods are gone.
    return p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";
  });
}

export async function rolloutRecreate(
  s: SyncContext,
  d: KubeObject,
  rsList: KubeObject[],
  pods: KubeObject[],
): Promise<StepResult> {
  let view = await syncRevision(s, d, rsList, false);
  let scaled = false;
  for (const rs of view.oldRSs) {
    if (replicasOf(rs) === 0) continue;
    await scaleReplicaSet(s, d, rs, 0);
    scaled = true;
  }
  if (scaled || oldPodsRunning(pods, view.oldRSs)) return syncRolloutStatus(s, d, view);
  if (view.newRS === undefined) view = await syncRevision(s, d, rsList, true);
  const newRS = view.newRS as KubeObject;
  if (replicasOf(newRS) !== replicasOf(d)) {
    await scaleReplicaSet(s, d, newRS, replicasOf(d));
    return syncRolloutStatus(s, d, view);
  }
  if (deploymentComplete(d, rolloutStatus(view.all, newRS, d).status))
    await cleanupHistory(s, d, view.oldRSs);
  return syncRolloutStatus(s, d, view);
}
