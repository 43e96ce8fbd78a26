// The steps every deployment strategy shares, as upstream's sync.go: finding or creating the new
// ReplicaSet (named <deployment>-<pod-template-hash>) and keeping revisions in order, scaling a
// ReplicaSet with its replica annotations and a ScalingReplicaSet event, proportional scaling when
// the deployment is resized mid-rollout, history cleanup, and writing status.
import { isStatusError, type KubeObject } from "../../api/index.js";
import type { ResourceClient } from "../../client/index.js";
import type { ControllerContext } from "../context.js";
import { ownerRefTo } from "../replicaset/index.js";
import {
  calculateStatus,
  type DeploymentStatus,
  getCondition,
  newCondition,
  setCondition,
} from "./progress.js";
import {
  byCreation,
  computeHash,
  equalIgnoreHash,
  findNewReplicaSet,
  isRollingUpdate,
  MAX_REPLICAS,
  maxSurge,
  newReplicaSetReplicas,
  POD_TEMPLATE_HASH,
  REVISION,
  replicasOf,
  revisionOf,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  sumSpecReplicas,
} from "./util.js";

/** What one sync works with: clients in the deployment's namespace and the event recorder. */
export interface SyncContext {
  ctx: ControllerContext;
  deployments: ResourceClient;
  replicaSets: ResourceClient;
}

export interface ReplicaSetsView {
  newRS?: KubeObject;
  oldRSs: KubeObject[];
  /** newRS (when there is one) followed by oldRSs. */
  all: KubeObject[];
}

export function splitReplicaSets(d: KubeObject, rsList: KubeObject[]): ReplicaSetsView {
  const newRS = findNewReplicaSet(d, rsList);
  const oldRSs = rsList.filter((rs) => rs !== newRS);
  return { newRS, oldRSs, all: newRS ? [newRS, ...oldRSs] : oldRSs };
}

/**
 * Finds the new ReplicaSet (creating it when asked and missing), brings its revision above every
 * old one and copies the revision onto the deployment. `d` is updated in place as it is written.
 */
export async function syncRevision(
  s: SyncContext,
  d: KubeObject,
  rsList: KubeObject[],
  create: boolean,
): Promise<ReplicaSetsView> {
  const view = splitReplicaSets(d, rsList);
  const maxOld = Math.max(0, ...view.oldRSs.map(revisionOf));
  const revision = maxOld + 1;
  let newRS = view.newRS;
  if (newRS !== undefined) {
    const copy = structuredClone(newRS);
    const annotationsChanged = setNewReplicaSetAnnotations(d, copy, revision);
    const minReadyChanged = (copy.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
    if (annotationsChanged || minReadyChanged) {
      copy.spec.minReadySeconds = d.spec?.minReadySeconds ?? 0;
      newRS = await s.replicaSets.update(copy);
    }
    await setDeploymentRevision(s, d, revisionOf(newRS));
    if (getCondition(d.status, "Progressing") === undefined) {
      const status = structuredClone(d.status ?? {});
      setCondition(
        status,
        newCondition(
          "Progressing",
          "True",
          "FoundNewReplicaSet",
          `Found new replica set "${newRS.metadata?.name}"`,
        ),
      );
      await writeStatus(s, d, status);
    }
  } else if (create) {
    newRS = await createNewReplicaSet(s, d, view.oldRSs, revision);
    await setDeploymentRevision(s, d, revision);
  }
  return { newRS, oldRSs: view.oldRSs, all: newRS ? [newRS, ...view.oldRSs] : view.oldRSs };
}

async function setDeploymentRevision(s: SyncContext, d: KubeObject, revision: number): Promise<void> {
  if (d.metadata?.annotations?.[REVISION] === String(revision)) return;
  const copy = structuredClone(d);
  copy.metadata = {
    ...copy.metadata,
    annotations: { ...copy.metadata?.annotations, [REVISION]: String(revision) },
  };
  // Through status, as upstream: a main-resource write would bump generation (annotations count).
  Object.assign(d, await s.deployments.updateStatus(copy));
}

async function createNewReplicaSet(
  s: SyncContext,
  d: KubeObject,
  oldRSs: KubeObject[],
  revision: number,
): Promise<KubeObject> {
  const meta = d.metadata ?? {};
  const template = structuredClone(d.spec.template);
  const hash = computeHash(template, d.status?.collisionCount);
  template.metadata = template.metadata ?? {};
  template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
  const selector = structuredClone(d.spec.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
  const name = `${meta.name}-${hash}`;
  const rs: KubeObject = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace: meta.namespace,
      labels: { ...template.metadata.labels },
      ownerReferences: [ownerRefTo(d, "apps/v1", "Deployment")],
    },
    spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
  };
  setNewReplicaSetAnnotations(d, rs, revision);
  const replicas = newReplicaSetReplicas(d, [rs, ...oldRSs], rs);
  rs.spec.replicas = replicas;
  setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d));
  let created: KubeObject;
  try {
    created = await s.replicaSets.create(rs);
  } catch (err) {
    if (!(isStatusError(err) && err.code === 409)) throw err;
    // The name is taken: ours from an earlier sync whose result we did not see, or a hash collision.
    const existing = await s.replicaSets.get(name);
    const ref = existing.metadata?.ownerReferences?.find((r) => r.controller);
    if (ref?.uid === meta.uid && equalIgnoreHash(existing.spec?.template, d.spec.template)) return existing;
    const status = structuredClone(d.status ?? {});
    status.collisionCount = Number(status.collisionCount ?? 0) + 1;
    await writeStatus(s, d, status);
    throw new Error(`hash collision for replica set ${name}; collisionCount is now ${status.collisionCount}`);
  }
  if (replicas > 0)
    s.ctx.recorder.event(
      d,
      "Normal",
      "ScalingReplicaSet",
      `Scaled up replica set ${name} from 0 to ${replicas}`,
    );
  const status = structuredClone(d.status ?? {});
  setCondition(
    status,
    newCondition("Progressing", "True", "NewReplicaSetCreated", `Created new replica set "${name}"`),
  );
  await writeStatus(s, d, status);
  return created;
}

/** Writes d.status = status (when it differs) and keeps `d` current. */
export async function writeStatus(s: SyncContext, d: KubeObject, status: unknown): Promise<void> {
  if (JSON.stringify(d.status ?? {}) === JSON.stringify(status)) return;
  Object.assign(d, await s.deployments.updateStatus({ ...d, status }));
}

/** Scales rs to newScale with up-to-date replica annotations; returns the ReplicaSet as written. */
export async function scaleReplicaSet(
  s: SyncContext,
  d: KubeObject,
  rs: KubeObject,
  newScale: number,
): Promise<KubeObject> {
  const copy = structuredClone(rs);
  const from = replicasOf(rs);
  const annotationsChanged = setReplicasAnnotations(copy, replicasOf(d), replicasOf(d) + maxSurge(d));
  if (from === newScale && !annotationsChanged) return rs;
  copy.spec.replicas = newScale;
  const written = await s.replicaSets.update(copy);
  if (from !== newScale) {
    const direction = newScale > from ? "up" : "down";
    s.ctx.recorder.event(
      d,
      "Normal",
      "ScalingReplicaSet",
      `Scaled ${direction} replica set ${rs.metadata?.name} from ${from} to ${newScale}`,
    );
  }
  Object.assign(rs, written);
  return rs;
}

function active(list: KubeObject[]): KubeObject[] {
  return list.filter((rs) => replicasOf(rs) > 0);
}

/** True when the latest ReplicaSet's desired-replicas annotation disagrees with the deployment. */
export function isScalingEvent(d: KubeObject, view: ReplicaSetsView): boolean {
  const targets = active(view.all);
  if (targets.length === 0 && view.newRS) targets.push(view.newRS);
  return targets.some(
    (rs) => rs.metadata?.annotations?.["deployment.kubernetes.io/desired-replicas"] !== String(replicasOf(d)),
  );
}

/**
 * Resizes for a changed spec.replicas without starting a rollout: the only active ReplicaSet takes
 * the new size; during a rolling update extra or missing replicas are spread over the active
 * ReplicaSets in proportion to their size (upstream's proportional scaling).
 */
export async function scale(s: SyncContext, d: KubeObject, view: ReplicaSetsView): Promise<void> {
  const activeRSs = active(view.all);
  const latest = view.newRS ?? [...view.oldRSs].sort(byCreation).at(-1);
  const single = activeRSs.length === 1 ? activeRSs[0] : activeRSs.length === 0 ? latest : undefined;
  if (single !== undefined) {
    await scaleReplicaSet(s, d, single, replicasOf(d));
    return;
  }
  const newRS = view.newRS;
  if (
    newRS !== undefined &&
    replicasOf(newRS) === replicasOf(d) &&
    Number(newRS.status?.availableReplicas ?? 0) === replicasOf(d)
  ) {
    for (const rs of active(view.oldRSs)) await scaleReplicaSet(s, d, rs, 0);
    return;
  }
  if (!isRollingUpdate(d)) return;
  const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
  const toAdd = allowed - sumSpecReplicas(activeRSs);
  if (toAdd === 0) return;
  const ordered = [...activeRSs].sort((a, b) => {
    const bySize = replicasOf(b) - replicasOf(a);
    if (bySize !== 0) return bySize;
    return toAdd > 0 ? byCreation(b, a) : byCreation(a, b);
  });
  const sizes = new Map<KubeObject, number>();
  let added = 0;
  for (const rs of ordered) {
    let share = 0;
    if (replicasOf(d) === 0) share = -replicasOf(rs);
    else {
      const annotated = Number(rs.metadata?.annotations?.[MAX_REPLICAS] ?? d.status?.replicas ?? 0);
      if (annotated > 0) share = Math.round((replicasOf(rs) * allowed) / annotated) - replicasOf(rs);
    }
    const left = toAdd - added;
    share = toAdd > 0 ? Math.min(share, left) : Math.max(share, left);
    sizes.set(rs, replicasOf(rs) + share);
    added += share;
  }
  // Rounding leftovers go to the largest ReplicaSet.
  const first = ordered[0];
  if (first !== undefined && added !== toAdd)
    sizes.set(first, Math.max(0, (sizes.get(first) ?? 0) + toAdd - added));
  for (const rs of ordered) await scaleReplicaSet(s, d, rs, Math.max(0, sizes.get(rs) ?? 0));
}

/** Deletes the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit. */
export async function cleanupHistory(s: SyncContext, d: KubeObject, oldRSs: KubeObject[]): Promise<void> {
  const limit = d.spec?.revisionHistoryLimit;
  if (typeof limit !== "number") return;
  const cleanable = oldRSs.filter(
    (rs) =>
      replicasOf(rs) === 0 &&
      Number(rs.status?.replicas ?? 0) === 0 &&
      !rs.metadata?.deletionTimestamp &&
      Number(rs.status?.observedGeneration ?? 0) >= Number(rs.metadata?.generation ?? 0),
  );
  const surplus = cleanable.length - limit;
  if (surplus <= 0) return;
  cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  for (const rs of cleanable.slice(0, surplus)) {
    try {
      await s.replicaSets.delete(rs.metadata?.name ?? "", { preconditions: { uid: rs.metadata?.uid } });
    } catch (err) {
      if (!(isStatusError(err) && err.code === 404)) throw err;
    }
  }
}

/** Writes the recomputed status without touching Progressing (paused or scaling syncs). */
export async function syncStatus(s: SyncContext, d: KubeObject, view: ReplicaSetsView): Promise<void> {
  const status: DeploymentStatus = calculateStatus(view.all, view.newRS, d);
  await writeStatus(s, d, status);
}
