// The periodic node health pass: every monitor period, each node whose Ready heartbeat and Lease
// have both been still for longer than the grace period gets its kubelet conditions set to
// Unknown; every node gets the not-ready/unreachable taints its Ready condition calls for (and
// loses them once Ready again); pods on a node that is not Ready are marked not ready.
import { isStatusError, type KubeObject } from "../../api/index.js";
import { type Clock, deletedObject, type SharedIndexInformer } from "../../client/index.js";
import type { ControllerContext } from "../context.js";
import { POD_NODE_INDEX, PODS } from "./eviction.js";
import { HealthTracker, unknownConditions } from "./health.js";
import { NODES } from "./ipam.js";
import { readyCondition, taintKeyFor, withLifecycleTaints } from "./taints.js";

export interface MonitorOptions {
  clock: Clock;
  gracePeriodMs: number;
  monitorPeriodMs: number;
  /** Called after each pass, once the next one is scheduled (tests wait on it instead of sleeping). */
  onPass?: () => void;
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function startMonitor(
  ctx: ControllerContext,
  nodes: SharedIndexInformer,
  leases: SharedIndexInformer,
  pods: SharedIndexInformer,
  opts: MonitorOptions,
): void {
  const nodeClient = ctx.client.resource(NODES);
  const podClient = ctx.client.resource(PODS);
  const health = new HealthTracker();
  nodes.addEventHandler({ onDelete: (n) => health.forget(deletedObject(n).metadata?.name ?? "") });

  const markPodsNotReady = async (nodeName: string, now: string) => {
    for (const pod of pods.lister.byIndex(POD_NODE_INDEX, nodeName)) {
      const conditions: KubeObject[] = Array.isArray(pod.status?.conditions) ? pod.status.conditions : [];
      const ready = conditions.find((c) => c.type === "Ready");
      if (ready?.status !== "True" || pod.metadata?.deletionTimestamp) continue;
      const updated = structuredClone(pod);
      updated.status.conditions = conditions.map((c) =>
        c.type === "Ready" ? { ...c, status: "False", lastTransitionTime: now } : c,
      );
      await podClient.inNamespace(pod.metadata?.namespace).updateStatus(updated);
    }
  };

  const checkNode = async (cached: KubeObject) => {
    const name = cached.metadata?.name ?? "";
    const nowMs = opts.clock.now();
    const now = stamp(nowMs);
    const lease = leases.lister.get("kube-node-lease", name);
    const lastHeard = health.observe(cached, lease, nowMs);
    let node = cached;
    if (nowMs - lastHeard > opts.gracePeriodMs) {
      const conditions = unknownConditions(node, now);
      if (conditions !== undefined) {
        const wasReady = readyCondition(node)?.status === "True";
        const updated = structuredClone(node);
        updated.status = { ...(updated.status ?? {}), conditions };
        node = await nodeClient.updateStatus(updated);
        if (wasReady)
          ctx.recorder.event(node, "Normal", "NodeNotReady", `Node ${name} status is now: NodeNotReady`);
      }
    }
    const ready = readyCondition(node);
    const taints = withLifecycleTaints(node, taintKeyFor(ready), now);
    if (taints !== undefined) {
      const updated = structuredClone(node);
      updated.spec = { ...(updated.spec ?? {}), taints };
      if (taints.length === 0) delete updated.spec.taints;
      await nodeClient.update(updated);
    }
    if (ready?.status !== "True") await markPodsNotReady(name, now);
  };

  let running = false;
  const pass = async () => {
    if (running) return;
    running = true;
    try {
      for (const node of nodes.lister.list()) {
        try {
          await checkNode(node);
        } catch (err) {
          // A conflict or a vanished node is settled on the next pass.
          if (!(isStatusError(err) && (err.code === 409 || err.code === 404))) throw err;
        }
      }
    } catch (err) {
      ctx.log(`node monitor: ${(err as Error).message}`);
    } finally {
      running = false;
    }
  };

  void (async () => {
    if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
    const tick = () => {
      if (ctx.signal.aborted) return;
      void pass().finally(() => {
        if (ctx.signal.aborted) return;
        // The next pass is scheduled before onPass, so a test advancing its clock from onPass hits it.
        timer = opts.clock.after(opts.monitorPeriodMs, tick);
        opts.onPass?.();
      });
    };
    let timer = { cancel() {} };
    ctx.signal.addEventListener("abort", () => timer.cancel(), { once: true });
    tick();
  })();
}
