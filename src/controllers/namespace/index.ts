// The namespace controller: a namespace being deleted (deletionTimestamp set, phase Terminating)
// that still carries the "kubernetes" finalizer has all its content deleted, resource by resource
// as discovery lists them; once nothing is left it is finalized (the finalizer removed through
// namespaces/{name}/finalize) and the apiserver removes it. Content that lingers (pods in their
// grace period, objects held by finalizers) makes the namespace come back with back-off.
import { isStatusError, type KubeObject } from "../../api/index.js";
import {
  deletedObject,
  ItemExponentialFailureRateLimiter,
  type RestClient,
  runWorkers,
  WorkQueue,
} from "../../client/index.js";
import type { Controller, ControllerContext } from "../context.js";
import { type DiscoveredResource, discoverResources, supports } from "../garbagecollector/discovery.js";

const NAMESPACES = { group: "", version: "v1", resource: "namespaces" };
const PODS = { group: "", version: "v1", resource: "pods" };
export const KUBERNETES_FINALIZER = "kubernetes";

/** Thrown while content remains, so the queue retries with back-off. */
export class ContentRemainingError extends Error {}

function isGone(err: unknown): boolean {
  return isStatusError(err) && (err.code === 404 || err.code === 405);
}

/** Deletes what is left of one resource in the namespace; returns how many objects remain. */
async function deleteContent(client: RestClient, r: DiscoveredResource, namespace: string): Promise<number> {
  const rc = client.resource(r.gvr, namespace);
  if (supports(r, "deletecollection")) {
    try {
      await rc.deleteCollection({ propagationPolicy: "Background" });
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
  const left = await rc.list();
  for (const obj of left.items) {
    if (obj.metadata?.deletionTimestamp || !supports(r, "delete")) continue;
    try {
      await rc.delete(obj.metadata?.name ?? "", { propagationPolicy: "Background" });
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
  return left.items.length;
}

export async function finalizeNamespace(client: RestClient, name: string): Promise<void> {
  const rc = client.resource(NAMESPACES);
  const ns = await rc.get(name);
  const finalizers: string[] = ns.spec?.finalizers ?? [];
  if (!finalizers.includes(KUBERNETES_FINALIZER)) return;
  const next: KubeObject = {
    ...ns,
    spec: { ...ns.spec, finalizers: finalizers.filter((f) => f !== KUBERNETES_FINALIZER) },
  };
  await rc.subresource(name, "finalize").update(next);
}

export const namespaceController: Controller = {
  name: "namespace",
  async start(ctx: ControllerContext): Promise<void> {
    const namespaces = ctx.informers.forResource(NAMESPACES);
    const queue = new WorkQueue<string>({
      name: "namespace",
      rateLimiter: new ItemExponentialFailureRateLimiter<string>(100, 10_000),
    });
    const enqueue = (ns: KubeObject) => {
      if (ns.metadata?.deletionTimestamp) queue.add(ns.metadata?.name ?? "");
    };
    namespaces.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_o, n) => enqueue(n),
      onDelete: (obj) => queue.forget(deletedObject(obj).metadata?.name ?? ""),
    });

    // Pods are what usually lingers (graceful deletion); the last one going is worth a look at once
    // rather than at the next back-off.
    ctx.informers.forResource(PODS).addEventHandler({
      onDelete: (obj) => {
        const ns = namespaces.lister.get("", deletedObject(obj).metadata?.namespace ?? "");
        if (ns?.metadata?.deletionTimestamp) queue.add(ns.metadata.name ?? "");
      },
    });

    const reconcile = async (name: string): Promise<undefined> => {
      const ns = namespaces.lister.get("", name);
      if (ns === undefined || !ns.metadata?.deletionTimestamp) return;
      if (!(ns.spec?.finalizers ?? []).includes(KUBERNETES_FINALIZER)) return;
      const resources = (await discoverResources(ctx.client)).filter(
        (r) => r.namespaced && supports(r, "list"),
      );
      let remaining = 0;
      const failures: string[] = [];
      for (const r of resources) {
        try {
          remaining += await deleteContent(ctx.client, r, name);
        } catch (err) {
          failures.push(`${r.gvr.resource}: ${(err as Error).message}`);
        }
      }
      if (failures.length > 0)
        throw new Error(`deleting content of namespace ${name}: ${failures.join("; ")}`);
      if (remaining > 0)
        throw new ContentRemainingError(`namespace ${name}: ${remaining} object(s) still being deleted`);
      try {
        await finalizeNamespace(ctx.client, name);
      } catch (err) {
        if (isStatusError(err) && err.code === 404) return;
        throw err;
      }
    };

    ctx.signal.addEventListener("abort", () => queue.shutdown(), { once: true });
    void (async () => {
      if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
      await runWorkers(queue, 2, reconcile, (key, err) => {
        if (!(err instanceof ContentRemainingError)) ctx.log(`namespace ${key}: ${(err as Error).message}`);
      });
    })();
  },
};
