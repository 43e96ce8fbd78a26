// Taint-based eviction (upstream's NoExecuteTaintManager): a pod on a node with a NoExecute taint
// it does not tolerate is deleted at once; one tolerating it for tolerationSeconds is deleted
// when that time has passed since the taint was added. Work is keyed by node; wake-ups for
// future evictions run on the injected clock.
import { isStatusError, type KubeObject } from "../../api/index.js";
import {
  type Clock,
  deletedObject,
  runWorkers,
  type SharedIndexInformer,
  type TimerHandle,
  WorkQueue,
} from "../../client/index.js";
import type { ControllerContext } from "../context.js";
import { evictionDue, type Taint, taintsOf } from "./taints.js";

export const PODS = { group: "", version: "v1", resource: "pods" } as const;
export const POD_NODE_INDEX = "nodelifecycle:spec.nodeName";

export function startTaintEviction(
  ctx: ControllerContext,
  nodes: SharedIndexInformer,
  pods: SharedIndexInformer,
  clock: Clock,
): void {
  const queue = new WorkQueue<string>({ name: "taint-eviction" });
  const client = ctx.client.resource(PODS);
  const wakeups = new Map<string, { at: number; timer: TimerHandle }>();
  /** Controller-clock time a taint without timeAdded was first seen, by node/key/effect. */
  const firstSeen = new Map<string, number>();
  pods.addIndexers({ [POD_NODE_INDEX]: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []) });

  nodes.addEventHandler({
    onAdd: (n) => queue.add(n.metadata?.name ?? ""),
    onUpdate: (o, n) => {
      if (JSON.stringify(taintsOf(o)) !== JSON.stringify(taintsOf(n))) queue.add(n.metadata?.name ?? "");
    },
    onDelete: (n) => queue.add(deletedObject(n).metadata?.name ?? ""),
  });
  const onPod = (p: KubeObject) => {
    if (p.spec?.nodeName) queue.add(p.spec.nodeName);
  };
  pods.addEventHandler({ onAdd: onPod, onUpdate: (_o, p) => onPod(p) });

  const wakeAt = (name: string, at: number) => {
    if (at <= clock.now()) {
      queue.add(name);
      return;
    }
    const pending = wakeups.get(name);
    if (pending !== undefined && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = clock.after(at - clock.now(), () => {
      wakeups.delete(name);
      queue.add(name);
    });
    wakeups.set(name, { at, timer });
  };

  const evict = async (pod: KubeObject): Promise<void> => {
    const ns = pod.metadata?.namespace ?? "";
    const name = pod.metadata?.name ?? "";
    try {
      await client.inNamespace(ns).delete(name, { preconditions: { uid: pod.metadata?.uid } });
      ctx.recorder.event(pod, "Normal", "TaintManagerEviction", `Marking for deletion Pod ${ns}/${name}`);
    } catch (err) {
      // Gone already, or a new pod under the same name: nothing to evict.
      if (!(isStatusError(err) && (err.code === 404 || err.code === 409))) throw err;
    }
  };

  const reconcile = async (nodeName: string): Promise<undefined> => {
    const node = nodes.lister.get("", nodeName);
    const taints = node === undefined ? [] : taintsOf(node).filter((t) => t.effect === "NoExecute");
    for (const key of firstSeen.keys())
      if (key.startsWith(`${nodeName}/`) && !taints.some((t) => key === `${nodeName}/${t.key}/${t.effect}`))
        firstSeen.delete(key);
    if (taints.length === 0) return undefined;
    const now = clock.now();
    const seen = (t: Taint) => {
      const key = `${nodeName}/${t.key}/${t.effect}`;
      if (!firstSeen.has(key)) firstSeen.set(key, now);
      return firstSeen.get(key) ?? now;
    };
    let nextWake = Number.POSITIVE_INFINITY;
    const due: KubeObject[] = [];
    for (const pod of pods.lister.byIndex(POD_NODE_INDEX, nodeName)) {
      if (pod.metadata?.deletionTimestamp) continue;
      const at = evictionDue(pod, taints, seen);
      if (at <= now) due.push(pod);
      else nextWake = Math.min(nextWake, at);
    }
    if (nextWake !== Number.POSITIVE_INFINITY) wakeAt(nodeName, nextWake);
    const results = await Promise.allSettled(due.map(evict));
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    return undefined;
  };

  ctx.signal.addEventListener(
    "abort",
    () => {
      queue.shutdown();
      for (const w of wakeups.values()) w.timer.cancel();
      wakeups.clear();
    },
    { once: true },
  );
  void (async () => {
    if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
    await runWorkers(queue, 4, reconcile, (name, err) =>
      ctx.log(`taint-eviction ${name}: ${(err as Error).message}`),
    );
  })();
}
