// The node side of `kite up`: per node a process runtime, a kubelet and a kube-proxy, each with
// its own client and metrics registry (several nodes share this process, so nothing may use the
// global registry), and the cluster DNS server.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Registry } from "prom-client";
import type { KubeObject } from "../../api/index.js";
import { RestClient } from "../../client/index.js";
import { type DnsServer, startDns } from "../../dns/index.js";
import { startKubelet } from "../../kubelet/index.js";
import { startProxy } from "../../proxy/index.js";
import { createProcessRuntime } from "../../runtime/index.js";

export const CLUSTER_DOMAIN = "cluster.local";
export const CLUSTER_DNS_IP = "127.96.0.10";

export interface NodeSpec {
  name: string;
  ip: string;
}

/** kite-node-<i> on 127.1.0.<i>, i from 1. */
export function nodeSpecs(count: number): NodeSpec[] {
  return Array.from({ length: count }, (_, k) => ({ name: `kite-node-${k + 1}`, ip: `127.1.0.${k + 1}` }));
}

export interface RunningNode extends NodeSpec {
  kubeletPort: number;
  /** Stops the proxy, then the kubelet (which kills its pods), then the runtime. */
  stop(): Promise<void>;
}

export interface NodeOptions {
  dataDir: string;
  kubeconfigPath: string;
  log: (message: string) => void;
}

function client(kubeconfigPath: string, userAgent: string): RestClient {
  return RestClient.fromKubeconfig(kubeconfigPath, { userAgent });
}

export async function startNode(spec: NodeSpec, opts: NodeOptions): Promise<RunningNode> {
  const dir = join(opts.dataDir, "nodes", spec.name);
  await mkdir(dir, { recursive: true });
  const log = (component: string) => (m: string) => opts.log(`${spec.name} ${component}: ${m}`);
  const undo: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const u of undo.splice(0).reverse()) {
      try {
        await u();
      } catch (err) {
        opts.log(`${spec.name}: error while stopping: ${(err as Error).message}`);
      }
    }
  };
  try {
    const runtime = await createProcessRuntime({
      stateDir: join(dir, "runtime"),
      nodeIP: spec.ip,
      log: log("runtime"),
    });
    undo.push(() => runtime.close());
    const kubeletClient = client(opts.kubeconfigPath, `kubelet/${spec.name}`);
    undo.push(() => kubeletClient.close());
    const kubelet = await startKubelet({
      client: kubeletClient,
      nodeName: spec.name,
      nodeIP: spec.ip,
      runtime,
      rootDir: dir,
      clusterDomain: CLUSTER_DOMAIN,
      clusterDNS: CLUSTER_DNS_IP,
      registry: new Registry(),
      log: log("kubelet"),
    });
    undo.push(() => kubelet.stop({ stopPods: true }));
    const proxyClient = client(opts.kubeconfigPath, `kube-proxy/${spec.name}`);
    undo.push(() => proxyClient.close());
    const proxy = await startProxy({
      client: proxyClient,
      nodeName: spec.name,
      nodeIP: spec.ip,
      registry: new Registry(),
      log: log("kube-proxy"),
    });
    undo.push(() => proxy.stop());
    return { ...spec, kubeletPort: kubelet.port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

const NODES = { group: "", version: "v1", resource: "nodes" } as const;

function isReady(node: KubeObject): boolean {
  const conditions = (node.status as { conditions?: Array<{ type?: string; status?: string }> } | undefined)
    ?.conditions;
  return conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Polls until the Node reports Ready=True; false after deadlineMs or once cancelled() is true. */
export async function waitNodeReady(
  kubeconfigPath: string,
  name: string,
  deadlineMs: number,
  cancelled: () => boolean = () => false,
): Promise<boolean> {
  const c = client(kubeconfigPath, "kite-up");
  try {
    const until = Date.now() + deadlineMs;
    while (Date.now() < until && !cancelled()) {
      try {
        if (isReady(await c.resource(NODES).get(name, { timeoutMs: 5_000 }))) return true;
      } catch {
        // Not registered yet.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  } finally {
    c.close();
  }
}

function cannotBind(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  return e?.code === "EACCES" || e?.code === "EADDRINUSE" || /EACCES|EADDRINUSE/.test(String(e?.message));
}

export interface ClusterDns {
  dns: DnsServer;
  client: RestClient;
  /** Why the preferred port was not used, when it was not. */
  fallbackReason?: string;
}

/** DNS on 127.96.0.10: `port` if given (no fallback), else 53, else 1053. */
export async function startClusterDns(
  kubeconfigPath: string,
  port: number | undefined,
  log: (m: string) => void,
): Promise<ClusterDns> {
  const c = client(kubeconfigPath, "kite-dns");
  const start = (p: number) =>
    startDns({
      client: c,
      address: CLUSTER_DNS_IP,
      port: p,
      clusterDomain: CLUSTER_DOMAIN,
      registry: new Registry(),
      log,
    });
  try {
    if (port !== undefined) return { dns: await start(port), client: c };
    try {
      return { dns: await start(53), client: c };
    } catch (err) {
      if (!cannotBind(err)) throw err;
      const dns = await start(1053);
      const why = /EACCES/.test(String((err as Error).message)) ? "needs root" : "is in use";
      return { dns, client: c, fallbackReason: `port 53 ${why}` };
    }
  } catch (err) {
    c.close();
    throw err;
  }
}
