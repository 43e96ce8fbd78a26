// The ReplicaSet controller: keeps spec.replicas active pods for each ReplicaSet, owning them by a
// controller ownerReference (adopting matching orphans, releasing pods that stopped matching),
// creating in slow-start batches and deleting the least valuable pods first, and reporting
// replicas, fullyLabeledReplicas, readyReplicas and availableReplicas in status.
import {
  isStatusError,
  type KubeObject,
  labelSelectorFromMeta,
  labelSelectorFromSet,
} from "../../api/index.js";
import {
  deletedObject,
  objectKey,
  type ReconcileResult,
  type ResourceClient,
  runWorkers,
  splitKey,
  WorkQueue,
} from "../../client/index.js";
import type { Controller, ControllerContext } from "../context.js";
import { claimObjects, ownerStillValid } from "./claim.js";
import { Expectations } from "./expectations.js";
import {
  controllerRef,
  isPodActive,
  isPodAvailable,
  isPodReady,
  ownerRefTo,
  PODS,
  slowStartBatch,
  sortPodsForDeletion,
} from "./pods.js";

export const REPLICASETS = { group: "apps", version: "v1", resource: "replicasets" } as const;
/** At most this many creates or deletes per sync, as upstream's BurstReplicas. */
const BURST_REPLICAS = 500;
const WORKERS = 5;

export const replicaSetController: Controller = {
  name: "replicaset",
  async start(ctx: ControllerContext): Promise<void> {
    const rsInformer = ctx.informers.forResource(REPLICASETS);
    const podInformer = ctx.informers.forResource(PODS);
    const queue = new WorkQueue<string>({ name: "replicaset" });
    const expectations = new Expectations();
    const enqueue = (rs: KubeObject) => queue.add(objectKey(rs));

    /** The ReplicaSet that controls the pod, if it is in the cache and the uid matches. */
    const ownerOf = (pod: KubeObject): KubeObject | undefined => {
      const ref = controllerRef(pod);
      if (ref?.kind !== "ReplicaSet") return undefined;
      const rs = rsInformer.lister.get(pod.metadata?.namespace ?? "", ref.name);
      return rs?.metadata?.uid === ref.uid ? rs : undefined;
    };
    /** Orphans wake every ReplicaSet that could adopt them. */
    const enqueueMatching = (pod: KubeObject) => {
      for (const rs of rsInformer.lister.list(undefined, pod.metadata?.namespace ?? "")) {
        if (labelSelectorFromMeta(rs.spec?.selector).matches(pod.metadata?.labels)) enqueue(rs);
      }
    };

    const rsHandle = rsInformer.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_old, rs) => enqueue(rs),
      onDelete: (obj) => {
        const rs = deletedObject(obj);
        expectations.delete(objectKey(rs));
        enqueue(rs);
      },
    });
    const podHandle = podInformer.addEventHandler({
      onAdd: (pod) => {
        const rs = ownerOf(pod);
        if (rs !== undefined) {
          expectations.creationObserved(objectKey(rs));
          enqueue(rs);
        } else if (controllerRef(pod) === undefined) enqueueMatching(pod);
      },
      onUpdate: (old, pod) => {
        const before = ownerOf(old);
        const after = ownerOf(pod);
        // Graceful deletion: the pod no longer counts from the moment it is terminating.
        if (after !== undefined && pod.metadata?.deletionTimestamp && !old.metadata?.deletionTimestamp)
          expectations.deletionObserved(objectKey(after), pod.metadata?.uid ?? "");
        if (before !== undefined && before !== after) enqueue(before);
        if (after !== undefined) enqueue(after);
        else if (controllerRef(pod) === undefined) enqueueMatching(pod);
      },
      onDelete: (obj) => {
        const pod = deletedObject(obj);
        const rs = ownerOf(pod);
        if (rs === undefined) return;
        expectations.deletionObserved(objectKey(rs), pod.metadata?.uid ?? "");
        enqueue(rs);
      },
    });

    const reconcile = async (key: string): Promise<ReconcileResult> => {
      const { namespace, name } = splitKey(key);
      const cached = rsInformer.lister.get(namespace, name);
      if (cached === undefined) {
        expectations.delete(key);
        return undefined;
      }
      const rs = structuredClone(cached);
      const selector = labelSelectorFromMeta(rs.spec?.selector);
      const podClient = ctx.client.resource(PODS, namespace);
      const rsClient = ctx.client.resource(REPLICASETS, namespace);
      const candidates = podInformer.lister.list(undefined, namespace).filter(isPodActive);
      const pods = await claimObjects(candidates, {
        owner: rs,
        ownerApiVersion: "apps/v1",
        ownerKind: "ReplicaSet",
        selector,
        client: podClient,
        canAdopt: () => ownerStillValid(rsClient, rs),
      });
      let manageError: unknown;
      if (expectations.satisfied(key) && !rs.metadata?.deletionTimestamp) {
        try {
          await manageReplicas(ctx, rs, pods, candidates, expectations, key);
        } catch (err) {
          manageError = err;
        }
      }
      const minReady = Number(rs.spec?.minReadySeconds ?? 0);
      const status = calculateStatus(rs, pods, minReady, manageError);
      await updateStatus(rsClient, rs, status);
      if (manageError !== undefined) throw manageError;
      // A pod that is ready but not yet available becomes available minReadySeconds later.
      if (minReady > 0 && status.readyReplicas > status.availableReplicas)
        return { requeueAfterMs: minReady * 1000 };
      return undefined;
    };

    ctx.signal.addEventListener(
      "abort",
      () => {
        rsHandle.remove();
        podHandle.remove();
        queue.shutdown();
      },
      { once: true },
    );
    void (async () => {
      if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
      await runWorkers(queue, WORKERS, reconcile, (k, err) =>
        ctx.log(`replicaset ${k}: ${(err as Error).message}`),
      );
    })();
  },
};

async function manageReplicas(
  ctx: ControllerContext,
  rs: KubeObject,
  pods: KubeObject[],
  related: KubeObject[],
  expectations: Expectations,
  key: string,
): Promise<void> {
  const namespace = rs.metadata?.namespace ?? "";
  const podClient = ctx.client.resource(PODS, namespace);
  const diff = pods.length - Number(rs.spec?.replicas ?? 1);
  if (diff < 0) {
    const want = Math.min(-diff, BURST_REPLICAS);
    expectations.expectCreations(key, want);
    const template = rs.spec?.template ?? {};
    const create = async () => {
      const pod: KubeObject = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          generateName: `${rs.metadata?.name}-`,
          namespace,
          labels: { ...(template.metadata?.labels ?? {}) },
          annotations: template.metadata?.annotations ? { ...template.metadata.annotations } : undefined,
          ownerReferences: [ownerRefTo(rs, "apps/v1", "ReplicaSet")],
        },
        spec: structuredClone(template.spec ?? {}),
      };
      try {
        const created = await podClient.create(pod);
        ctx.recorder.event(rs, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata?.name}`);
      } catch (err) {
        ctx.recorder.event(rs, "Warning", "FailedCreate", `Error creating: ${(err as Error).message}`);
        throw err;
      }
    };
    const { succeeded, error } = await slowStartBatch(want, 1, create);
    // Creates never attempted or failed will never be observed.
    if (succeeded < want) expectations.lowerCreations(key, want - succeeded);
    if (error !== undefined) throw error;
    return;
  }
  if (diff > 0) {
    const victims = sortPodsForDeletion(pods, related).slice(0, Math.min(diff, BURST_REPLICAS));
    expectations.expectDeletions(
      key,
      victims.map((p) => p.metadata?.uid ?? ""),
    );
    const results = await Promise.allSettled(
      victims.map(async (pod) => {
        const podName = pod.metadata?.name ?? "";
        try {
          await podClient.delete(podName, { preconditions: { uid: pod.metadata?.uid } });
          ctx.recorder.event(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${podName}`);
        } catch (err) {
          expectations.deletionObserved(key, pod.metadata?.uid ?? "");
          if (isStatusError(err) && err.code === 404) return;
          ctx.recorder.event(rs, "Warning", "FailedDelete", `Error deleting: ${(err as Error).message}`);
          throw err;
        }
      }),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}

interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  observedGeneration?: number;
  conditions?: unknown[];
}

function calculateStatus(
  rs: KubeObject,
  pods: KubeObject[],
  minReadySeconds: number,
  manageError: unknown,
): ReplicaSetStatus {
  const templateLabels = labelSelectorFromSet(rs.spec?.template?.metadata?.labels ?? {});
  const now = Date.now();
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: pods.filter((p) => templateLabels.matches(p.metadata?.labels)).length,
    readyReplicas: pods.filter(isPodReady).length,
    availableReplicas: pods.filter((p) => isPodAvailable(p, minReadySeconds, now)).length,
    observedGeneration: rs.metadata?.generation,
  };
  const previousFailure = (rs.status?.conditions ?? []).find(
    (c: { type?: string }) => c?.type === "ReplicaFailure",
  );
  const others = (rs.status?.conditions ?? []).filter((c: { type?: string }) => c?.type !== "ReplicaFailure");
  const failure =
    manageError !== undefined && pods.length < Number(rs.spec?.replicas ?? 1)
      ? [
          {
            type: "ReplicaFailure",
            status: "True",
            reason: "FailedCreate",
            message: (manageError as Error).message,
            lastTransitionTime:
              previousFailure?.lastTransitionTime ?? new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z"),
          },
        ]
      : [];
  const conditions = [...others, ...failure];
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

async function updateStatus(client: ResourceClient, rs: KubeObject, status: ReplicaSetStatus): Promise<void> {
  const old = rs.status ?? {};
  const same =
    old.replicas === status.replicas &&
    (old.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas &&
    (old.readyReplicas ?? 0) === status.readyReplicas &&
    (old.availableReplicas ?? 0) === status.availableReplicas &&
    old.observedGeneration === status.observedGeneration &&
    JSON.stringify(old.conditions ?? []) === JSON.stringify(status.conditions ?? []);
  if (same) return;
  try {
    await client.updateStatus({ ...rs, status });
  } catch (err) {
    if (isStatusError(err) && err.code === 404) return;
    throw err;
  }
}
