// One kubelet against a real in-process control plane, for the kubelet tests: a FakeRuntime (or a
// given runtime), a kite- temp root dir, the node's podCIDR set as node IPAM would, and helpers
// to create pods bound to the node and to wait for their status. Everything is undone by close().
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { isStatusError, type KubeObject } from "../../src/api/index.js";
import { type FakeClock, type RestClient, realClock } from "../../src/client/index.js";
import { KubeletImpl, type KubeletOptions } from "../../src/kubelet/index.js";
import type { Runtime } from "../../src/runtime/index.js";
import { startCluster, type TestCluster } from "../client/cluster.js";
import { waitFor } from "../support/require.js";
import { FakeRuntime } from "./fake-runtime.js";

export const NODE = "kite-node-1";
export const PODS = { group: "", version: "v1", resource: "pods" } as const;
export const NODES = { group: "", version: "v1", resource: "nodes" } as const;

export interface Harness {
  cluster: TestCluster;
  client: RestClient;
  runtime: Runtime;
  fake: FakeRuntime;
  kubelet: KubeletImpl;
  rootDir: string;
  registry: Registry;
  clock: FakeClock | undefined;
  createPod(spec: KubeObject, meta?: KubeObject): Promise<KubeObject>;
  getPod(name: string): Promise<KubeObject | undefined>;
  waitPod(name: string, check: (pod: KubeObject) => boolean, what?: string, ms?: number): Promise<KubeObject>;
  /** Advances the fake clock in steps until check() holds (real-time deadline). */
  advanceUntil(check: () => boolean | Promise<boolean>, stepMs: number, what?: string): Promise<void>;
  events(): Promise<KubeObject[]>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    clock?: FakeClock;
    runtime?: (rootDir: string) => Promise<Runtime>;
    kubelet?: Partial<KubeletOptions>;
    cluster?: TestCluster;
    podCIDR?: string;
  } = {},
): Promise<Harness> {
  const cluster = opts.cluster ?? (await startCluster());
  const client = cluster.client();
  const rootDir = mkdtempSync(join(tmpdir(), "kite-kubelet-"));
  const fake = new FakeRuntime(opts.clock ?? realClock);
  let runtime: Runtime = fake;
  let kubelet: KubeletImpl | undefined;
  const registry = new Registry();
  const logs: string[] = [];
  const close = async () => {
    await kubelet?.stop();
    if (runtime !== fake) await runtime.close();
    if (!opts.cluster) await cluster.close();
    rmSync(rootDir, { recursive: true, force: true });
  };
  try {
    if (opts.runtime) runtime = await opts.runtime(rootDir);
    kubelet = new KubeletImpl({
      client,
      nodeName: NODE,
      nodeIP: "127.0.0.1",
      runtime,
      rootDir: join(rootDir, "kubelet"),
      port: 0,
      clock: opts.clock,
      registry,
      memoryAvailableBytes: async () => 8 * 1024 ** 3,
      log: (m) => logs.push(m),
      ...opts.kubelet,
    });
    await kubelet.start();
    await client.resource(NODES).patch(NODE, "merge", { spec: { podCIDR: opts.podCIDR ?? "10.244.1.0/24" } });
  } catch (err) {
    await close();
    throw err;
  }
  const pods = client.resource(PODS, "default");
  const getPod = async (name: string) => {
    try {
      return await pods.get(name);
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return undefined;
      throw err;
    }
  };
  return {
    cluster,
    client,
    runtime,
    fake,
    kubelet,
    rootDir,
    registry,
    clock: opts.clock,
    createPod: (spec, meta = {}) =>
      pods.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p", ...meta },
        spec: { nodeName: NODE, terminationGracePeriodSeconds: 5, ...spec },
      }),
    getPod,
    async waitPod(name, check, what = "pod condition", ms = 15_000) {
      let last: KubeObject | undefined;
      try {
        await waitFor(
          async () => {
            last = await getPod(name);
            return last !== undefined && check(last);
          },
          ms,
          what,
        );
      } catch (err) {
        throw new Error(
          `${(err as Error).message}; last status: ${JSON.stringify(last?.status ?? null)}; kubelet log: ${logs.slice(-20).join(" | ")}`,
        );
      }
      return last as KubeObject;
    },
    async advanceUntil(check, stepMs, what = "condition") {
      const until = Date.now() + 15_000;
      for (;;) {
        if (await check()) return;
        if (Date.now() > until) throw new Error(`timed out advancing the fake clock until ${what}`);
        opts.clock?.advance(stepMs);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async events() {
      const list = await client.resource({ group: "", version: "v1", resource: "events" }, "default").list();
      return list.items;
    },
    close,
  };
}

export function containerStatus(pod: KubeObject, name: string): KubeObject | undefined {
  return (pod.status?.containerStatuses ?? []).find((s: KubeObject) => s.name === name);
}

export function conditionOf(pod: KubeObject, type: string): KubeObject | undefined {
  return (pod.status?.conditions ?? []).find((c: KubeObject) => c.type === type);
}
