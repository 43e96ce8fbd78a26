// The garbage collector: deletes objects whose owners (metadata.ownerReferences) are gone, and
// carries out foreground and orphan deletion of owners. It watches every resource discovery lists
// with list, watch and delete (one shared informer each, events excepted as upstream), keeps the
// owner→dependent graph (graph.ts) and works it off in two queues (collector.ts).
import { setMaxListeners } from "node:events";
import type { KubeObject } from "../../api/index.js";
import {
  deletedObject,
  ItemExponentialFailureRateLimiter,
  runWorkers,
  WorkQueue,
} from "../../client/index.js";
import type { Controller, ControllerContext } from "../context.js";
import { Collector } from "./collector.js";
import { discoverResources, supports } from "./discovery.js";
import { DependencyGraph, type GraphNode, isDeletingDependents, isOrphaning, nodeOf } from "./graph.js";

export { apiVersionOf, type DiscoveredResource, discoverResources } from "./discovery.js";
export { DependencyGraph, FOREGROUND_FINALIZER, ORPHAN_FINALIZER } from "./graph.js";

/** Upstream's default ignoredResources: events are never owners worth tracking. */
const IGNORED = new Set(["/events", "events.k8s.io/events"]);

export const garbageCollectorController: Controller = {
  name: "garbagecollector",
  async start(ctx: ControllerContext): Promise<void> {
    const resources = (await discoverResources(ctx.client)).filter(
      (r) => supports(r, "list", "watch", "delete") && !IGNORED.has(`${r.gvr.group}/${r.gvr.resource}`),
    );
    const graph = new DependencyGraph();
    const kinds = new Map(resources.map((r) => [`${r.gvr.group}/${r.kind}`, r]));
    const limiter = () => new ItemExponentialFailureRateLimiter<string>(5, 30_000);
    const toDelete = new WorkQueue<string>({
      name: "garbage_collector_attempt_to_delete",
      rateLimiter: limiter(),
    });
    const toOrphan = new WorkQueue<string>({
      name: "garbage_collector_attempt_to_orphan",
      rateLimiter: limiter(),
    });
    const collector = new Collector(ctx.client, graph, kinds, ctx.log);

    const changed = (node: GraphNode, old: GraphNode | undefined) => {
      if (isOrphaning(node)) toOrphan.add(node.uid);
      if (isDeletingDependents(node)) {
        toDelete.add(node.uid);
        for (const dep of graph.dependentsOf(node.uid)) toDelete.add(dep.uid);
      }
      // A dependent whose owner is not (yet) known may be garbage, and so is a dependent of an
      // owner deleting its dependents.
      const suspect = (uid: string) => {
        const owner = graph.get(uid);
        return owner === undefined || isDeletingDependents(owner);
      };
      if (node.owners.some((o) => suspect(o.uid))) toDelete.add(node.uid);
      // A dependent that dropped or unblocked an owner may be what that owner was waiting for.
      if (old !== undefined && JSON.stringify(old.owners) !== JSON.stringify(node.owners))
        for (const o of old.owners) if (graph.get(o.uid) !== undefined) toDelete.add(o.uid);
    };
    for (const r of resources) {
      const informer = ctx.informers.forResource(r.gvr);
      informer.addEventHandler({
        onAdd: (obj: KubeObject) => {
          const node = nodeOf(r.gvr, obj);
          changed(node, graph.upsert(node));
        },
        onUpdate: (_old: KubeObject, obj: KubeObject) => {
          const node = nodeOf(r.gvr, obj);
          changed(node, graph.upsert(node));
        },
        onDelete: (obj) => {
          const gone = graph.remove(deletedObject(obj).metadata?.uid ?? "");
          if (gone === undefined) return;
          for (const dep of graph.dependentsOf(gone.uid)) toDelete.add(dep.uid);
          for (const o of gone.owners) toDelete.add(o.uid);
        },
      });
    }

    ctx.signal.addEventListener(
      "abort",
      () => {
        toDelete.shutdown();
        toOrphan.shutdown();
      },
      { once: true },
    );
    const onError = (uid: string, err: unknown) =>
      ctx.log(`garbagecollector ${uid}: ${(err as Error).message}`);
    // Waiting for sync listens on the signal once per informer, and the collector has dozens.
    const syncAbort = new AbortController();
    setMaxListeners(resources.length + 10, syncAbort.signal);
    ctx.signal.addEventListener("abort", () => syncAbort.abort(), { once: true });
    void (async () => {
      if (!(await ctx.informers.waitForCacheSync(syncAbort.signal))) return;
      await Promise.all([
        runWorkers(
          toDelete,
          4,
          async (uid) => {
            await collector.attemptToDelete(uid);
            return undefined;
          },
          onError,
        ),
        runWorkers(
          toOrphan,
          2,
          async (uid) => {
            await collector.attemptToOrphan(uid);
            return undefined;
          },
          onError,
        ),
      ]);
    })();
  },
};
