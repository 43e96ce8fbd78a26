// The Deployment controller: informers on deployments, ReplicaSets and pods; handlers only enqueue
// the deployment a change concerns; a sync adopts/releases ReplicaSets, then either resizes
// (paused or scaled deployments) or advances the rollout strategy and writes status.
import { isStatusError, type KubeObject, labelSelectorFromMeta } from "../../api/index.js";
import {
  deletedObject,
  objectKey,
  type ReconcileResult,
  runWorkers,
  splitKey,
  WorkQueue,
} from "../../client/index.js";
import type { Controller, ControllerContext } from "../context.js";
import { claimObjects, controllerRef, ownerStillValid, PODS, REPLICASETS } from "../replicaset/index.js";
import { getCondition, newCondition, setCondition } from "./progress.js";
import { rolloutRecreate, rolloutRolling } from "./rollout.js";
import {
  cleanupHistory,
  isScalingEvent,
  type SyncContext,
  scale,
  splitReplicaSets,
  syncRevision,
  syncStatus,
  writeStatus,
} from "./sync.js";

export const DEPLOYMENTS = { group: "apps", version: "v1", resource: "deployments" } as const;
const WORKERS = 5;

export const deploymentController: Controller = {
  name: "deployment",
  async start(ctx: ControllerContext): Promise<void> {
    const dInformer = ctx.informers.forResource(DEPLOYMENTS);
    const rsInformer = ctx.informers.forResource(REPLICASETS);
    const podInformer = ctx.informers.forResource(PODS);
    const queue = new WorkQueue<string>({ name: "deployment" });
    const enqueue = (d: KubeObject) => queue.add(objectKey(d));

    const ownerOf = (rs: KubeObject): KubeObject | undefined => {
      const ref = controllerRef(rs);
      if (ref?.kind !== "Deployment") return undefined;
      const d = dInformer.lister.get(rs.metadata?.namespace ?? "", ref.name);
      return d?.metadata?.uid === ref.uid ? d : undefined;
    };
    const onReplicaSet = (rs: KubeObject) => {
      const d = ownerOf(rs);
      if (d !== undefined) return enqueue(d);
      if (controllerRef(rs) !== undefined) return;
      for (const cand of dInformer.lister.list(undefined, rs.metadata?.namespace ?? "")) {
        if (labelSelectorFromMeta(cand.spec?.selector).matches(rs.metadata?.labels)) enqueue(cand);
      }
    };
    /** Recreate waits for old pods to vanish, so their deletion must wake the deployment. */
    const onPodDeleted = (pod: KubeObject) => {
      const ref = controllerRef(pod);
      if (ref?.kind !== "ReplicaSet") return;
      const rs = rsInformer.lister.get(pod.metadata?.namespace ?? "", ref.name);
      const d = rs === undefined ? undefined : ownerOf(rs);
      if (d?.spec?.strategy?.type === "Recreate") enqueue(d);
    };

    const handles = [
      dInformer.addEventHandler({
        onAdd: enqueue,
        onUpdate: (_old, d) => enqueue(d),
        onDelete: (obj) => enqueue(deletedObject(obj)),
      }),
      rsInformer.addEventHandler({
        onAdd: onReplicaSet,
        onUpdate: (old, rs) => {
          const before = ownerOf(old);
          if (before !== undefined && before !== ownerOf(rs)) enqueue(before);
          onReplicaSet(rs);
        },
        onDelete: (obj) => {
          const d = ownerOf(deletedObject(obj));
          if (d !== undefined) enqueue(d);
        },
      }),
      podInformer.addEventHandler({ onDelete: (obj) => onPodDeleted(deletedObject(obj)) }),
    ];

    const reconcile = async (key: string): Promise<ReconcileResult> => {
      const { namespace, name } = splitKey(key);
      const cached = dInformer.lister.get(namespace, name);
      if (cached === undefined) return undefined;
      const d = structuredClone(cached);
      const s: SyncContext = {
        ctx,
        deployments: ctx.client.resource(DEPLOYMENTS, namespace),
        replicaSets: ctx.client.resource(REPLICASETS, namespace),
      };
      const selector = labelSelectorFromMeta(d.spec?.selector);
      if (selector.isEmpty()) {
        ctx.recorder.event(
          d,
          "Warning",
          "SelectingAll",
          "This deployment is selecting all pods. A non-empty selector is required.",
        );
        if (d.status?.observedGeneration !== d.metadata?.generation)
          await writeStatus(s, d, { ...(d.status ?? {}), observedGeneration: d.metadata?.generation });
        return undefined;
      }
      const candidates = rsInformer.lister.list(undefined, namespace);
      const claimed = await claimObjects(candidates, {
        owner: d,
        ownerApiVersion: "apps/v1",
        ownerKind: "Deployment",
        selector,
        client: s.replicaSets,
        canAdopt: () => ownerStillValid(s.deployments, d),
      });
      // Steps resize ReplicaSets in place as they write them: never touch the cached copies.
      const rsList = structuredClone(claimed);
      if (d.metadata?.deletionTimestamp) {
        await syncStatus(s, d, splitReplicaSets(d, rsList));
        return undefined;
      }
      await checkPausedConditions(s, d);
      if (d.spec?.paused || isScalingEvent(d, splitReplicaSets(d, rsList))) {
        const view = await syncRevision(s, d, rsList, false);
        await scale(s, d, view);
        if (d.spec?.paused) await cleanupHistory(s, d, view.oldRSs);
        await syncStatus(s, d, view);
        return undefined;
      }
      const result =
        d.spec?.strategy?.type === "Recreate"
          ? await rolloutRecreate(s, d, rsList, podInformer.lister.list(undefined, namespace))
          : await rolloutRolling(s, d, rsList);
      return result.recheckAfterMs === undefined ? undefined : { requeueAfterMs: result.recheckAfterMs };
    };

    ctx.signal.addEventListener(
      "abort",
      () => {
        for (const h of handles) h.remove();
        queue.shutdown();
      },
      { once: true },
    );
    void (async () => {
      if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
      await runWorkers(
        queue,
        WORKERS,
        async (key) => {
          try {
            return await reconcile(key);
          } catch (err) {
            // The deployment or a ReplicaSet went away mid-sync: the next event brings fresh state.
            if (isStatusError(err) && err.code === 404) return undefined;
            throw err;
          }
        },
        (k, err) => ctx.log(`deployment ${k}: ${(err as Error).message}`),
      );
    })();
  },
};

/** Progressing Unknown/DeploymentPaused while paused, DeploymentResumed once resumed. */
async function checkPausedConditions(s: SyncContext, d: KubeObject): Promise<void> {
  const cond = getCondition(d.status, "Progressing");
  if (cond?.reason === "ProgressDeadlineExceeded") return;
  const pausedCond = cond?.reason === "DeploymentPaused";
  const status = structuredClone(d.status ?? {});
  if (d.spec?.paused && !pausedCond)
    setCondition(status, newCondition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"));
  else if (!d.spec?.paused && pausedCond)
    setCondition(
      status,
      newCondition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"),
    );
  else return;
  await writeStatus(s, d, status);
}
