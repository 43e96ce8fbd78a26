// The control loops `kite server` runs in-process next to the apiserver: the controller-manager
// (every controller src/controllers/all.ts lists) and the scheduler, each with its own client from
// the admin kubeconfig and both behind leader election, so several `kite server` processes run one
// active controller-manager and one active scheduler.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Registry } from "prom-client";
import { RestClient } from "../../client/index.js";
import type { Controller } from "../../controllers/context.js";
import { startControllerManager } from "../../controllers/manager.js";
import { startScheduler } from "../../scheduler/index.js";

/** Where the list of controllers lives; loaded at run time so the server works before it exists. */
const ALL_CONTROLLERS_MODULE = "../../controllers/all.js";

export async function loadAllControllers(log: (message: string) => void): Promise<Controller[]> {
  try {
    const mod = (await import(ALL_CONTROLLERS_MODULE)) as { allControllers?: Controller[] };
    return mod.allControllers ?? [];
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Only the list itself being absent is expected; a broken controller module is an error.
    if (e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("controllers/all.js")) {
      log("no controller list (src/controllers/all.ts) built in; the controller-manager runs no controllers");
      return [];
    }
    throw err;
  }
}

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
    const controllers = await loadAllControllers(opts.log);
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
