// Shared by the controller tests: a real in-process control plane (test/client/cluster.ts) and a
// way to run controllers against it with a ControllerContext as the controller-manager builds one.
// Each running set of controllers can be stopped and a fresh one started (restart in mid-reconcile).

import { setMaxListeners } from "node:events";
import { isStatusError, type KubeObject } from "../../src/api/index.js";
import { EventRecorder, type RestClient, SharedInformerFactory } from "../../src/client/index.js";
import type { Controller, ControllerContext } from "../../src/controllers/context.js";
import { startCluster, type TestCluster } from "../client/cluster.js";

export interface RunningControllers {
  ctx: ControllerContext;
  /** Aborts the controllers and stops their informers. */
  stop(): Promise<void>;
}

/** Starts the controllers with their own informer factory and event recorder, as one manager would. */
export async function runControllers(
  client: RestClient,
  controllers: Controller[],
): Promise<RunningControllers> {
  const abort = new AbortController();
  // Every informer's cache-sync wait and every controller listens on the one signal.
  setMaxListeners(0, abort.signal);
  const informers = new SharedInformerFactory(client);
  const recorder = new EventRecorder(client, { component: "kite-controller-manager" });
  const ctx: ControllerContext = {
    client,
    informers,
    recorder,
    log: (m) => {
      if (process.env.KITE_TEST_LOG === "1") console.log(`# ${m}`);
    },
    signal: abort.signal,
  };
  for (const c of controllers) await c.start(ctx);
  informers.start();
  return {
    ctx,
    async stop() {
      abort.abort();
      await informers.shutdown();
      await recorder.flush();
    },
  };
}

export interface ControllerTestEnv {
  cluster: TestCluster;
  client: RestClient;
  /** Stops every controller set started through run(), then the cluster. */
  close(): Promise<void>;
  /** Stops every controller set still running (use in afterEach, so a failed test leaves none behind). */
  stopAll(): Promise<void>;
  run(controllers: Controller[]): Promise<RunningControllers>;
}

export async function startControllerEnv(): Promise<ControllerTestEnv> {
  const cluster = await startCluster();
  const client = cluster.client();
  const running: RunningControllers[] = [];
  return {
    cluster,
    client,
    async run(controllers) {
      const r = await runControllers(client, controllers);
      running.push(r);
      return r;
    },
    async stopAll() {
      for (const r of running.splice(0)) await r.stop();
    },
    async close() {
      for (const r of running.splice(0)) await r.stop();
      await cluster.close();
    },
  };
}

/**
 * Plays the kubelet for a pod: sets phase Running, the pod IP and the Ready condition through
 * pods/status (no kubelet runs in the tests). Returns the updated pod.
 */
export async function markPodRunning(
  client: RestClient,
  pod: { metadata?: { name?: string; namespace?: string } },
  opts: { ip: string; ready: boolean },
): Promise<KubeObject> {
  const pods = client.resource(
    { group: "", version: "v1", resource: "pods" },
    pod.metadata?.namespace ?? "default",
  );
  const name = pod.metadata?.name ?? "";
  for (;;) {
    const live = await pods.get(name);
    const status = {
      ...(live.status ?? {}),
      phase: "Running",
      podIP: opts.ip,
      podIPs: [{ ip: opts.ip }],
      conditions: [
        {
          type: "Ready",
          status: opts.ready ? "True" : "False",
          lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        },
      ],
    };
    try {
      return await pods.updateStatus({ ...live, status });
    } catch (err) {
      if (!(isStatusError(err) && err.code === 409)) throw err;
    }
  }
}

export interface FakeKubelet {
  stop(): Promise<void>;
}

/**
 * Plays the kubelet for every pod (optionally only those `ready` accepts): once a pod appears it is
 * marked Running and Ready through pods/status. Pods `ready` rejects stay Pending.
 */
export async function startFakeKubelet(
  client: RestClient,
  opts: { ready?: (pod: KubeObject) => boolean } = {},
): Promise<FakeKubelet> {
  const informers = new SharedInformerFactory(client);
  const pods = informers.forResource({ group: "", version: "v1", resource: "pods" });
  const handled = new Set<string>();
  let ip = 0;
  let stopped = false;
  const inFlight = new Set<Promise<unknown>>();
  const visit = (pod: KubeObject) => {
    const uid = pod.metadata?.uid ?? "";
    if (stopped || handled.has(uid) || pod.metadata?.deletionTimestamp) return;
    if (opts.ready && !opts.ready(pod)) return;
    handled.add(uid);
    ip++;
    const addr = `10.244.${(ip >> 8) & 255}.${ip & 255}`;
    const p = markPodRunning(client, pod, { ip: addr, ready: true }).catch(() => handled.delete(uid));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  pods.addEventHandler({ onAdd: visit, onUpdate: (_o, pod) => visit(pod) });
  informers.start();
  await informers.waitForCacheSync();
  return {
    async stop() {
      stopped = true;
      await informers.shutdown();
      await Promise.allSettled([...inFlight]);
    },
  };
}
