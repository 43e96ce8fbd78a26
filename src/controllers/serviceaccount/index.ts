// The serviceaccount controller: every Active namespace has a "default" ServiceAccount, created
// when the namespace appears and re-created when someone deletes it, as upstream's
// serviceaccounts_controller. Namespaces being deleted are left alone.
import { isStatusError, type KubeObject } from "../../api/index.js";
import { deletedObject, runWorkers, WorkQueue } from "../../client/index.js";
import type { Controller, ControllerContext } from "../context.js";

const NAMESPACES = { group: "", version: "v1", resource: "namespaces" };
const SERVICE_ACCOUNTS = { group: "", version: "v1", resource: "serviceaccounts" };
const DEFAULT_NAME = "default";

export const serviceAccountController: Controller = {
  name: "serviceaccount",
  async start(ctx: ControllerContext): Promise<void> {
    const namespaces = ctx.informers.forResource(NAMESPACES);
    const accounts = ctx.informers.forResource(SERVICE_ACCOUNTS);
    const queue = new WorkQueue<string>({ name: "serviceaccount" });
    const enqueueNs = (ns: KubeObject) => queue.add(ns.metadata?.name ?? "");
    namespaces.addEventHandler({ onAdd: enqueueNs, onUpdate: (_o, n) => enqueueNs(n) });
    accounts.addEventHandler({
      onDelete: (obj) => {
        const sa = deletedObject(obj);
        if (sa.metadata?.name === DEFAULT_NAME) queue.add(sa.metadata?.namespace ?? "");
      },
    });
    const client = ctx.client.resource(SERVICE_ACCOUNTS);

    const reconcile = async (name: string): Promise<undefined> => {
      const ns = namespaces.lister.get("", name);
      if (ns === undefined || ns.metadata?.deletionTimestamp || ns.status?.phase === "Terminating") return;
      if (accounts.lister.get(name, DEFAULT_NAME) !== undefined) return;
      try {
        await client.create({
          apiVersion: "v1",
          kind: "ServiceAccount",
          metadata: { name: DEFAULT_NAME, namespace: name },
        });
      } catch (err) {
        // Already there (the cache lags) or the namespace is going away: nothing to do.
        if (isStatusError(err) && (err.code === 409 || err.code === 403 || err.code === 404)) return;
        throw err;
      }
    };

    ctx.signal.addEventListener("abort", () => queue.shutdown(), { once: true });
    void (async () => {
      if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
      await runWorkers(queue, 2, reconcile, (key, err) =>
        ctx.log(`serviceaccount ${key}: ${(err as Error).message}`),
      );
    })();
  },
};
