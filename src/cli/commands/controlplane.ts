// The control loops `kite server` runs in-process next to the apiserver: the controller-manager
// (every controller in src/controllers/all.ts) and the scheduler, each with its own client from
// the admin kubeconfig and both behind leader election, so several `kite server` processes run one
// active controller-manager and one active scheduler.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Registry } from "prom-client";
import { RestClient } from "../../client/index.js";
import { allControllers } from "../../controllers/all.js";
import { startControllerManager } from "../../controllers/manager.js";
import { startScheduler } from "../../scheduler/index.js";

export interface ControlPlaneOptions {
  kubeconfigPath: string;
  registry?: Registry;
  controllers: boolean;
  scheduler: boolean;
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
    const client = RestClient.fromKubeconfig(opts.kubeconfigPath);
    clients.push(client);
    const manager = startControllerManager({
      client,
      controllers: allControllers,
      registry: opts.registry,
      identity,
      log: (m) => opts.log(`controller-manager: ${m}`),
    });
    stops.push(() => manager.stop());
    opts.log(
      `controller-manager started with ${allControllers.length} controllers (${allControllers.map((c) => c.name).join(", ")})`,
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
