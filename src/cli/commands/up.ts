// `kite up`: a whole cluster in one process. It starts the embedded store, the apiserver (service
// range 127.96.0.0/16), the controller-manager (cluster CIDR 127.244.0.0/16) and the scheduler,
// then N nodes kite-node-<i> on 127.1.0.<i> (process runtime, kubelet, kube-proxy) and the
// cluster DNS on 127.96.0.10. Linux routes all of 127/8 to lo, so no root or setup is needed.
// Component logs go to <data-dir>/kite.log; the terminal shows progress and a summary. Ctrl-C
// stops everything in reverse order (kubelets kill their pods) and exits 0.
import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Command, parseCommandFlags } from "../index.js";
import { type DataDirLock, DataDirLockedError, lockDataDir } from "./datadir-lock.js";
import { runUntilSignal, type ServerStack, startServerStack } from "./stack.js";
import { CLUSTER_CIDR, parseUpFlags, SERVICE_CIDR, UP_USAGE, UpFlagError, type UpFlags } from "./up-flags.js";
import {
  CLUSTER_DOMAIN,
  type ClusterDns,
  nodeSpecs,
  type RunningNode,
  startClusterDns,
  startNode,
  waitNodeReady,
} from "./up-nodes.js";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** Terminal output: one line per step with its duration: "✓ <subject> <verb> (detail)" or "✗ <subject>: error". */
function progress(out: (line: string) => void) {
  return async <T>(
    subject: string,
    verb: string,
    work: () => Promise<T>,
    detail?: (value: T) => string,
  ): Promise<T> => {
    const started = Date.now();
    try {
      const value = await work();
      const text = detail ? detail(value) : "";
      const extra = text === "" ? "" : ` ${text}`;
      out(` ✓ ${subject} ${verb}${extra} (${seconds(Date.now() - started)})`);
      return value;
    } catch (err) {
      out(` ✗ ${subject}: ${(err as Error).message} (${seconds(Date.now() - started)})`);
      throw err;
    }
  };
}

/** Runs them all to the end (so nothing is left starting behind a failure), then throws the first error. */
async function allOrFirstError(work: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

function failureHint(err: unknown): string {
  const message = (err as Error).message ?? String(err);
  if (/EADDRINUSE/.test(message))
    return " (a port is taken: is another kite running? --port and --dns-port choose others)";
  if (/EACCES/.test(message)) return " (permission denied binding a port: pick one above 1024)";
  return "";
}

/** What has been started so far; stopAll undoes exactly that. */
interface Cluster {
  stack?: ServerStack;
  nodes: RunningNode[];
  dns?: ClusterDns;
}

class Interrupted extends Error {}

interface StartContext {
  step: ReturnType<typeof progress>;
  log: (message: string) => void;
  logPath: string;
  interrupted(): boolean;
}

async function startCluster(flags: UpFlags, cluster: Cluster, ctx: StartContext): Promise<void> {
  const { step, log } = ctx;
  const checkpoint = () => {
    if (ctx.interrupted()) throw new Interrupted("interrupted");
  };
  cluster.stack = await startServerStack({
    dataDir: flags.dataDir,
    port: flags.port,
    bindAddress: "127.0.0.1",
    etcdServers: [],
    ...(flags.storePort !== undefined ? { storePort: flags.storePort } : {}),
    serviceClusterIpRange: SERVICE_CIDR,
    controllers: true,
    scheduler: true,
    clusterCIDR: CLUSTER_CIDR,
    log,
    step: (name, work) =>
      step(name, "started", work, (v) => {
        const o = v as { api?: { urls: string[] }; url?: string };
        if (o.api) return `(etcd API ${o.api.urls.join(",")})`;
        if (typeof o.url === "string") return `(${o.url})`;
        return "";
      }),
  });
  checkpoint();
  const kubeconfigPath = cluster.stack.server.kubeconfigPath;
  const specs = nodeSpecs(flags.nodes);
  await allOrFirstError(
    specs.map((spec) =>
      step(
        `node ${spec.name}`,
        "started",
        async () => {
          const node = await startNode(spec, { dataDir: flags.dataDir, kubeconfigPath, log });
          cluster.nodes.push(node);
          return node;
        },
        () => `(${spec.ip}: kubelet, kube-proxy)`,
      ),
    ),
  );
  checkpoint();
  await allOrFirstError(
    specs.map((spec) =>
      step(`node ${spec.name}`, "Ready", async () => {
        if (!(await waitNodeReady(kubeconfigPath, spec.name, 60_000, ctx.interrupted)))
          throw new Error(ctx.interrupted() ? "interrupted" : `not Ready after 60s; see ${ctx.logPath}`);
      }),
    ),
  );
  checkpoint();
  cluster.dns = await step(
    "cluster DNS",
    "started",
    () => startClusterDns(kubeconfigPath, flags.dnsPort, log),
    (d) => `(${d.dns.address}:${d.dns.port}${d.fallbackReason ? `; ${d.fallbackReason}` : ""})`,
  );
}

/** DNS, then the nodes (each kubelet kills its pods), then control plane, apiserver and store. */
async function stopAll(cluster: Cluster, say: (line: string) => void): Promise<void> {
  const timed = async (what: string, work: () => Promise<void>) => {
    const started = Date.now();
    try {
      await work();
      say(` ✓ stopped ${what} (${seconds(Date.now() - started)})`);
    } catch (err) {
      say(` ✗ stopping ${what}: ${(err as Error).message}`);
    }
  };
  const dns = cluster.dns;
  cluster.dns = undefined;
  if (dns) {
    await timed("cluster DNS", async () => {
      await dns.dns.stop();
      dns.client.close();
    });
  }
  // Nodes stop together: each kubelet gives its pods their grace period in parallel anyway.
  await Promise.all(cluster.nodes.splice(0).map((node) => timed(`${node.name} and its pods`, node.stop)));
  const stack = cluster.stack;
  cluster.stack = undefined;
  if (stack) await timed("control plane, apiserver and store", stack.stop);
}

function summary(cluster: Cluster, dir: string, logPath: string, tookMs: number): string {
  const server = cluster.stack?.server;
  const nodes = cluster.nodes
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }))
    .map((n) => `${n.name} (${n.ip})`);
  const plural = nodes.length === 1 ? "" : "s";
  return [
    "",
    `kite is running (${nodes.length} node${plural}, started in ${seconds(tookMs)})`,
    "",
    `  API server:   ${server?.url}`,
    `  Kubeconfig:   ${server?.kubeconfigPath}`,
    `  Nodes:        ${nodes.join(", ")}`,
    `  Cluster DNS:  ${cluster.dns?.dns.address}:${cluster.dns?.dns.port} (${CLUSTER_DOMAIN})`,
    `  Services:     ${SERVICE_CIDR}   Pods: ${CLUSTER_CIDR}`,
    `  Data dir:     ${dir}`,
    `  Logs:         ${logPath}`,
    "",
    "To use it from another shell:",
    `  export KUBECONFIG=${server?.kubeconfigPath}`,
    "  kubectl get nodes",
    "",
    "Press Ctrl-C to stop.",
  ].join("\n");
}

async function run(args: string[]): Promise<number> {
  const flags = parseCommandFlags("up", args, parseUpFlags, (err) => err instanceof UpFlagError, UP_USAGE);
  if (typeof flags === "number") return flags;
  const began = Date.now();
  const dir = flags.dataDir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let lock: DataDirLock;
  try {
    lock = lockDataDir(dir);
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    console.error(`Error: ${err.message}`);
    return 1;
  }
  const logPath = join(dir, "kite.log");
  const logFile = createWriteStream(logPath, { flags: "a" });
  const log = (message: string) => {
    const line = `${new Date().toISOString()} ${message}`;
    logFile.write(`${line}\n`);
    if (flags.verbose) console.log(line);
  };
  const say = (line: string) => {
    console.log(line);
    logFile.write(`${new Date().toISOString()} ${line.trim()}\n`);
  };

  const cluster: Cluster = { nodes: [] };
  let stopping = false;
  let starting: Promise<void> = Promise.resolve();
  // Signals count from the first moment: Ctrl-C during start-up lets the step in flight finish,
  // then stops what is running, so no pod outlives kite.
  const { done, fail } = runUntilSignal(
    async () => {
      stopping = true;
      say("Stopping kite (Ctrl-C again to force)");
      await starting.catch(() => {});
      await stopAll(cluster, say);
      lock.release();
      say("kite stopped");
    },
    log,
    { exitOnSecondSignal: true },
  );

  say(`Starting kite cluster (${flags.nodes} node${flags.nodes === 1 ? "" : "s"}) in ${dir}`);
  starting = startCluster(flags, cluster, { step: progress(say), log, logPath, interrupted: () => stopping });
  try {
    await starting;
    say(summary(cluster, dir, logPath, Date.now() - began));
    const store = cluster.stack?.embedded?.store;
    if (store) store.onFatal = (err) => fail(`store failed: ${(err as Error).message ?? String(err)}`);
  } catch (err) {
    if (!stopping) {
      say(`kite up failed: ${(err as Error).message}${failureHint(err)}`);
      fail("start-up failed");
    }
  }
  const code = await done;
  await new Promise<void>((r) => logFile.end(() => r()));
  return code;
}

export const upCommand: Command = {
  name: "up",
  summary: "Start a whole cluster on this machine: control plane, N nodes and DNS (Ctrl-C stops it)",
  run,
};
