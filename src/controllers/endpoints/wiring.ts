// The informer wiring both controllers share: a service's key is queued when the service changes,
// and when a pod its selector matches (before or after the change) is added, changed or deleted.
import { isStatusError, type KubeObject } from "../../api/index.js";
import {
  deletedObject,
  objectKey,
  type ReconcileResult,
  runWorkers,
  type SharedIndexInformer,
  splitKey,
  WorkQueue,
} from "../../client/index.js";
import type { ControllerContext } from "../context.js";
import { servicesForPod } from "./pods.js";

export const SERVICES = { group: "", version: "v1", resource: "services" };
export const PODS = { group: "", version: "v1", resource: "pods" };

export interface ServicePodInformers {
  services: SharedIndexInformer;
  pods: SharedIndexInformer;
}

/** Registers the handlers and runs `workers` reconcilers once the caches have synced. */
export function runServiceController(
  ctx: ControllerContext,
  name: string,
  /** The Warning event's reason when a reconcile fails, as upstream names it. */
  failureReason: string,
  extra: (informers: ServicePodInformers, queue: WorkQueue<string>) => void,
  reconcile: (key: string, informers: ServicePodInformers) => Promise<ReconcileResult>,
): void {
  const informers = {
    services: ctx.informers.forResource(SERVICES),
    pods: ctx.informers.forResource(PODS),
  };
  const queue = new WorkQueue<string>({ name });
  const enqueueService = (svc: KubeObject) => queue.add(objectKey(svc));
  informers.services.addEventHandler({
    onAdd: enqueueService,
    onUpdate: (_o, n) => enqueueService(n),
    onDelete: (obj) => enqueueService(deletedObject(obj)),
  });
  const enqueueForPod = (pod: KubeObject) => {
    const inNs = informers.services.lister.list(undefined, pod.metadata?.namespace ?? "");
    for (const svc of servicesForPod(inNs, pod)) enqueueService(svc);
  };
  informers.pods.addEventHandler({
    onAdd: enqueueForPod,
    onUpdate: (o, n) => {
      enqueueForPod(o);
      enqueueForPod(n);
    },
    onDelete: (obj) => enqueueForPod(deletedObject(obj)),
  });
  extra(informers, queue);
  ctx.signal.addEventListener("abort", () => queue.shutdown(), { once: true });
  void (async () => {
    if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
    await runWorkers(
      queue,
      4,
      (key) => reconcile(key, informers),
      (key, err) => {
        ctx.log(`${name} ${key}: ${(err as Error).message}`);
        // Conflicts are routine (a stale cache); anything else is worth telling the service's owner.
        if (isStatusError(err) && err.code === 409) return;
        const { namespace, name: svcName } = splitKey(key);
        const svc = informers.services.lister.get(namespace, svcName);
        if (svc !== undefined) ctx.recorder.event(svc, "Warning", failureReason, (err as Error).message);
      },
    );
  })();
}
