// The node lifecycle controller (upstream node_lifecycle_controller + tainteviction + the nodeipam
// range allocator): gives each node a pod CIDR from the cluster CIDR, watches node heartbeats
// (Ready condition and the node's Lease in kube-node-lease), marks silent nodes Unknown with the
// unreachable/not-ready taints, and evicts pods from NoExecute-tainted nodes after their
// tolerationSeconds.
import { type Clock, LEASES, realClock } from "../../client/index.js";
import type { Controller } from "../context.js";
import { CidrSet } from "./cidrset.js";
import { PODS, startTaintEviction } from "./eviction.js";
import { NODES, startIpam } from "./ipam.js";
import { startMonitor } from "./monitor.js";

export { CidrSet, CidrSetFullError, parseCIDR } from "./cidrset.js";
export { kubeletConditionTypes, unknownConditions } from "./health.js";
export {
  evictionDue,
  notReadyTaintKey,
  type Taint,
  type Toleration,
  tolerates,
  unreachableTaintKey,
} from "./taints.js";

export interface NodeLifecycleOptions {
  /** Pods' address space, cut into per-node subnets; default 10.244.0.0/16. */
  clusterCIDR?: string;
  /** Per-node subnet prefix length; default 24. */
  nodeCIDRMaskSize?: number;
  /** How long a node may stay silent before it is marked Unknown; default 50 s. */
  gracePeriodMs?: number;
  /** How often node health is checked; default 5 s. */
  monitorPeriodMs?: number;
  clock?: Clock;
  /** Called after each node health pass. */
  onMonitorPass?: () => void;
}

export const defaultClusterCIDR = "10.244.0.0/16";
export const defaultNodeGracePeriodMs = 50_000;
export const defaultNodeMonitorPeriodMs = 5_000;

/** Throws on a bad clusterCIDR or mask size, so a misconfiguration fails at startup. */
export function newNodeLifecycleController(opts: NodeLifecycleOptions = {}): Controller {
  const clusterCIDR = opts.clusterCIDR ?? defaultClusterCIDR;
  const maskSize = opts.nodeCIDRMaskSize ?? 24;
  // Validates the configuration now; each start gets a fresh set rebuilt from the nodes.
  new CidrSet(clusterCIDR, maskSize);
  const gracePeriodMs = opts.gracePeriodMs ?? defaultNodeGracePeriodMs;
  const monitorPeriodMs = opts.monitorPeriodMs ?? defaultNodeMonitorPeriodMs;
  if (!(gracePeriodMs > 0) || !(monitorPeriodMs > 0))
    throw new Error("node lifecycle: gracePeriodMs and monitorPeriodMs must be positive");
  const clock = opts.clock ?? realClock;
  return {
    name: "node-lifecycle",
    async start(ctx) {
      const nodes = ctx.informers.forResource(NODES);
      const pods = ctx.informers.forResource(PODS);
      const leases = ctx.informers.forResource(LEASES, { namespace: "kube-node-lease" });
      startIpam(ctx, nodes, new CidrSet(clusterCIDR, maskSize));
      startTaintEviction(ctx, nodes, pods, clock);
      startMonitor(ctx, nodes, leases, pods, {
        clock,
        gracePeriodMs,
        monitorPeriodMs,
        onPass: opts.onMonitorPass,
      });
    },
  };
}

export const nodeLifecycleController: Controller = newNodeLifecycleController();
