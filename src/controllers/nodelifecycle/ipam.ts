// Node IPAM (upstream's range allocator): every node without spec.podCIDR gets the next free
// subnet of the cluster CIDR, written to spec.podCIDR and spec.podCIDRs; a deleted node's subnet
// goes back. The allocation map is rebuilt from the nodes' own podCIDRs on start, so a restart
// never hands out a subnet twice.
import { isStatusError, type KubeObject } from "../../api/index.js";
import { deletedObject, runWorkers, type SharedIndexInformer, WorkQueue } from "../../client/index.js";
import type { ControllerContext } from "../context.js";
import { type CidrSet, CidrSetFullError } from "./cidrset.js";

export const NODES = { group: "", version: "v1", resource: "nodes" } as const;

function podCIDRsOf(node: KubeObject): string[] {
  if (Array.isArray(node.spec?.podCIDRs) && node.spec.podCIDRs.length > 0) return node.spec.podCIDRs;
  return typeof node.spec?.podCIDR === "string" && node.spec.podCIDR !== "" ? [node.spec.podCIDR] : [];
}

export function startIpam(ctx: ControllerContext, nodes: SharedIndexInformer, cidrs: CidrSet): void {
  const queue = new WorkQueue<string>({ name: "node-ipam" });
  const client = ctx.client.resource(NODES);
  nodes.addEventHandler({
    onAdd: (n) => queue.add(n.metadata?.name ?? ""),
    onUpdate: (_o, n) => {
      if (podCIDRsOf(n).length === 0) queue.add(n.metadata?.name ?? "");
    },
    onDelete: (n) => {
      for (const cidr of podCIDRsOf(deletedObject(n))) cidrs.release(cidr);
    },
  });

  const reconcile = async (name: string): Promise<undefined> => {
    const node = nodes.lister.get("", name);
    if (node === undefined || node.metadata?.deletionTimestamp) return undefined;
    const held = podCIDRsOf(node);
    if (held.length > 0) {
      for (const cidr of held)
        if (!cidrs.occupy(cidr)) ctx.log(`node ${name}: podCIDR ${cidr} is outside ${cidrs.clusterCIDR}`);
      return undefined;
    }
    let cidr: string;
    try {
      cidr = cidrs.allocateNext();
    } catch (err) {
      if (!(err instanceof CidrSetFullError)) throw err;
      ctx.recorder.event(node, "Normal", "CIDRNotAvailable", `Node ${name} status is now: CIDRNotAvailable`);
      throw err;
    }
    try {
      await client.patch(name, "merge", {
        metadata: { resourceVersion: node.metadata?.resourceVersion },
        spec: { podCIDR: cidr, podCIDRs: [cidr] },
      });
      ctx.recorder.event(node, "Normal", "CIDRAssignment", `Node ${name} was assigned podCIDR ${cidr}`);
    } catch (err) {
      cidrs.release(cidr);
      if (isStatusError(err) && err.code === 404) return undefined;
      throw err;
    }
    return undefined;
  };

  ctx.signal.addEventListener("abort", () => queue.shutdown(), { once: true });
  void (async () => {
    if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
    // Every subnet already held is marked before any node gets a new one.
    for (const node of nodes.lister.list()) for (const cidr of podCIDRsOf(node)) cidrs.occupy(cidr);
    // One worker: allocations are decided one at a time.
    await runWorkers(queue, 1, reconcile, (name, err) =>
      ctx.log(`node-ipam ${name}: ${(err as Error).message}`),
    );
  })();
}
