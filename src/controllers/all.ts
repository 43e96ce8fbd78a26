// The controllers `kite server` runs in its controller-manager, by upstream's names.
import type { Controller } from "./context.js";
import { cronJobController } from "./cronjob/index.js";
import { deploymentController } from "./deployment/index.js";
import { endpointSliceController, endpointsController } from "./endpoints/index.js";
import { garbageCollectorController } from "./garbagecollector/index.js";
import { jobController } from "./job/index.js";
import { namespaceController } from "./namespace/index.js";
import { newNodeLifecycleController } from "./nodelifecycle/index.js";
import { replicaSetController } from "./replicaset/index.js";
import { resourceQuotaController } from "./resourcequota/index.js";
import { serviceAccountController } from "./serviceaccount/index.js";

export interface ControllerManagerOptions {
  /** Pod CIDRs per node are /24s from this range (the user's notes; upstream's --cluster-cidr). */
  clusterCIDR?: string;
  /** How long a node may stay silent before it turns Unknown (upstream's --node-monitor-grace-period). */
  nodeMonitorGracePeriodMs?: number;
  /** How often node health is checked (upstream's --node-monitor-period). */
  nodeMonitorPeriodMs?: number;
}

export function controllerSet(opts: ControllerManagerOptions = {}): Controller[] {
  return [
    deploymentController,
    replicaSetController,
    garbageCollectorController,
    namespaceController,
    serviceAccountController,
    endpointsController,
    endpointSliceController,
    jobController,
    cronJobController,
    newNodeLifecycleController({
      ...(opts.clusterCIDR !== undefined ? { clusterCIDR: opts.clusterCIDR } : {}),
      ...(opts.nodeMonitorGracePeriodMs !== undefined
        ? { gracePeriodMs: opts.nodeMonitorGracePeriodMs }
        : {}),
      ...(opts.nodeMonitorPeriodMs !== undefined ? { monitorPeriodMs: opts.nodeMonitorPeriodMs } : {}),
    }),
    resourceQuotaController,
  ];
}

/** Every controller with its defaults. */
export const allControllers: Controller[] = controllerSet();
