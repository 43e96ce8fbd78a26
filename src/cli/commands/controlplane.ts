// The control loops `kite server` runs in-process next to the apiserver: the controller-manager
// (every controller in src/controllers/all.ts) and the scheduler, each with its own client from
// the admin kubeconfig and both behind leader election, so several `kite server` processes run one
// active controller-manager and one active scheduler.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Registry } from "prom-client";
import { RestClient } from "../../client/index.js";
import { controllerSet } from "../../controllers/all.js";
import { startControllerManager } from "../../controllers/manager.js";
import { startScheduler } from "../../scheduler/index.js";

export interface ControlPlaneOptions {
  kubeconfigPath: string;
  registry?: Registry;
  controllers: boolean;
  scheduler: boolean;
  /** Pod CIDRs per node come from this range (upstream's --cluster-cidr); default the controllers'. */
  clusterCIDR?: string;
  /** Upstream's --node-monitor-grace-period and --node-monitor-period; default the controllers'. */
  nodeMonitorGracePeriodMs?: number;
  nodeMonitorPeriodMs?: number;
  log: (message: string) => void;
}

export interface ControlPlane {
  stop(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const identity = `${hostname()}_${randomUUID()}`;
  const clients: RestClient[] = [];
  const stops: Array<() => Promise<void>> = [];
  if (opts.controllers) {
    const controllers = controllerSet({
      ...(opts.clusterCIDR !== undefined ? { clusterCIDR: opts.clusterCIDR } : {}),
      ...(opts.nodeMonitorGracePeriodMs !== undefined
        ? { nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriodMs }
        : {}),
      ...(opts.nodeMonitorPeriodMs !== undefined ? { nodeMonitorPeriodMs: opts.nodeMonitorPeriodMs } : {}),
    });
    const client = RestClient.fromKubeconfig(opts.kubeconfigPath);
    clients.push(client);
    const manager = startControllerManager({
      client,
      controllers,
      registry: opts.registry,
      identity,
      log: (m) => opts.log(`controller-manager: ${m}`),
    });
    stops.push(() => manager.stop());
    opts.log(
      `controller-manager started with ${controllers.length} controllers (${controllers.map((c) => c.name).join(", ")})`,
    );
  }
  if (opts.scheduler) {
    const client = RestClient.fromKubeconfig(opts.kubeconfigPath);
    clients.push(client);
    const scheduler = startScheduler({
      client,
      registry: opts.registry,
      identity,
      log: (m) => opts.log(`scheduler: ${m}`),
    });
    stops.push(() => scheduler.stop());
    opts.log("scheduler started");
  }
  return {
    async stop() {
      await Promise.allSettled(stops.map((stop) => stop()));
      for (const c of clients) c.close();
    },
  };
}
