// What every controller gets from the controller-manager: one REST client, one shared informer
// factory (so all controllers share a single list+watch per resource), an event recorder and a
// logger. A controller starts its informers' handlers and workers from start() and stops them
// when the returned function is called.
import type { EventRecorder, RestClient, SharedInformerFactory } from "../client/index.js";

export interface ControllerContext {
  client: RestClient;
  informers: SharedInformerFactory;
  recorder: EventRecorder;
  log(message: string): void;
  /** Stops the controller's workers; resolves once in-flight reconciles have finished. */
  signal: AbortSignal;
}

export interface Controller {
  /** The name upstream's kube-controller-manager uses (e.g. "deployment", "replicaset"). */
  name: string;
  /**
   * Registers informer handlers and starts workers. Called before informers.start(); workers
   * must wait for informers.waitForCacheSync() before reconciling.
   */
  start(ctx: ControllerContext): Promise<void>;
}
