// bench/scheduler: `kite server` (store, apiserver, controller-manager and scheduler in one process)
// and `kite hollow --nodes 5000` as separate processes; worker processes create 10,000 pods, then
// 50,000 more, and a pod informer here counts them bound. pods/s runs from the first create until
// the last pod of the round is bound. Anchor: upstream kube-scheduler's scheduler_perf thresholds
// at 5,000 nodes are 680 (10k pods) and 810 (50k pods) pods/s; target >= 1,000 pods/s.
// `npm run bench -- scheduler [--nodes 5000] [--pods 10000,50000] [--workers 4] [--concurrency 32]
//   [--lease-interval 10s] [--cluster-cidr 100.64.0.0/10] [--profile DIR] [--server-log FILE]`
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RestClient, SharedInformerFactory } from "../src/client/index.js";
import { adminAgent, readAdminCredentials, send, startKiteServer } from "./support/apiserver-client.js";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const opts = {
  nodes: Number(flag("nodes", "5000")),
  rounds: flag("pods", "10000,50000").split(",").map(Number),
  workers: Number(flag("workers", "4")),
  concurrency: Number(flag("concurrency", "32")),
  /** The hollow nodes' lease renewal period; at 5,000 nodes the 10 s default is 500 writes/s. */
  leaseInterval: flag("lease-interval", "10s"),
  /** When given, `kite server` runs under --cpu-prof and writes its profile here. */
  profileDir: flag("profile", ""),
  /** When given, `kite server`'s output is appended to this file. */
  serverLog: flag("server-log", ""),
  /**
   * Node IPAM's range: the default 10.244.0.0/16 holds 256 node /24s, and at 5,000 nodes the
   * other 4,744 would fail and retry (with a CIDRNotAvailable event each time) all through the run.
   */
  clusterCIDR: flag("cluster-cidr", "100.64.0.0/10"),
};
const cliPath = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const workerPath = fileURLToPath(new URL("./support/scheduler-worker.js", import.meta.url));
const log = (line: string) => console.log(line);

function spawnLogged(args: string[], onLine: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let rest = "";
  const feed = (d: Buffer) => {
    const text = rest + d.toString();
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  };
  child.stdout?.on("data", feed);
  child.stderr?.on("data", feed);
  return child;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
    return Promise.resolve();
  const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(
    () => child.pid && child.exitCode === null && process.kill(child.pid, "SIGKILL"),
    10_000,
  );
  return done.finally(() => clearTimeout(timer));
}

async function startHollow(kubeconfig: string, nodes: number): Promise<ChildProcess> {
  let ready!: () => void;
  let failed!: (err: Error) => void;
  const running = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  let lastProgress = 0;
  const child = spawnLogged(
    [
      cliPath,
      "hollow",
      "--kubeconfig",
      kubeconfig,
      "--nodes",
      String(nodes),
      "--lease-interval",
      opts.leaseInterval,
    ],
    (line) => {
      if (/hollow nodes running/.test(line)) ready();
      const m = /registered (\d+)\/(\d+)/.exec(line);
      if (m && Date.now() - lastProgress > 5_000) {
        lastProgress = Date.now();
        log(`  ${line}`);
      }
      if (/^Error/.test(line)) failed(new Error(`kite hollow: ${line}`));
    },
  );
  child.once("exit", (code) => failed(new Error(`kite hollow exited with ${code}`)));
  await running;
  return child;
}

/** Creates `pods` pods from worker processes; resolves with the workers' summaries. */
async function createPods(kubeconfig: string, namespace: string, pods: number): Promise<string[]> {
  const per = Math.ceil(pods / opts.workers);
  const outputs: Promise<string>[] = [];
  for (let w = 0; w < opts.workers; w++) {
    const start = w * per;
    const count = Math.max(0, Math.min(per, pods - start));
    outputs.push(
      new Promise((resolve) => {
        let out = "";
        const child = spawnLogged(
          [workerPath, kubeconfig, namespace, String(start), String(count), String(opts.concurrency)],
          (line) => {
            out = line;
          },
        );
        child.once("exit", () => resolve(out));
      }),
    );
  }
  return Promise.all(outputs);
}

async function main(): Promise<void> {
  log(`starting kite server, then kite hollow --nodes ${opts.nodes}`);
  const server = await startKiteServer(cliPath, {
    extraArgs: [`--cluster-cidr=${opts.clusterCIDR}`],
    ...(opts.profileDir ? { profileDir: opts.profileDir } : {}),
    ...(opts.serverLog ? { logFile: opts.serverLog } : {}),
  });
  const kubeconfig = join(server.dataDir, "kubeconfig");
  let hollow: ChildProcess | undefined;
  const client = RestClient.fromKubeconfig(kubeconfig, { qps: 1_000, burst: 1_000 });
  const informers = new SharedInformerFactory(client);
  const result: Record<string, unknown> = {
    bench: "scheduler",
    nodes: opts.nodes,
    lease_interval: opts.leaseInterval,
    cluster_cidr: opts.clusterCIDR,
  };
  const creds = readAdminCredentials(server.dataDir);
  const agent = adminAgent(creds, 1);
  /** Attempts and queue lengths from the server's /metrics, to tell a slow scheduler from a slow feed. */
  const schedulerState = async (): Promise<string> => {
    try {
      const text = (await send(agent, creds, "GET", "/metrics")).body;
      const pick = (re: RegExp) => re.exec(text)?.[1] ?? "?";
      return `scheduled ${pick(/scheduler_schedule_attempts_total\{result="scheduled"[^}]*\} (\S+)/)}, active ${pick(/scheduler_pending_pods\{queue="active"\} (\S+)/)}, backoff ${pick(/scheduler_pending_pods\{queue="backoff"\} (\S+)/)}, server cpu ${server.cpuSeconds().toFixed(0)} s`;
    } catch (err) {
      return `(metrics: ${(err as Error).message})`;
    }
  };
  try {
    const registerStart = Date.now();
    hollow = await startHollow(kubeconfig, opts.nodes);
    const registerSeconds = (Date.now() - registerStart) / 1000;
    log(`  ${opts.nodes} hollow nodes registered in ${registerSeconds.toFixed(1)} s`);
    result.node_registration_seconds = Number(registerSeconds.toFixed(1));
    for (const [round, pods] of opts.rounds.entries()) {
      const namespace = `bench-sched-${round}`;
      await client.resource({ group: "", version: "v1", resource: "namespaces" }).create({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: namespace },
      });
      const informer = informers.forResource({ group: "", version: "v1", resource: "pods" }, { namespace });
      let bound = 0;
      let allBound!: () => void;
      const done = new Promise<void>((resolve) => {
        allBound = resolve;
      });
      const seen = new Set<string>();
      const count = (pod: { metadata?: { name?: string }; spec?: { nodeName?: string } }) => {
        const name = pod.metadata?.name ?? "";
        if (!pod.spec?.nodeName || seen.has(name)) return;
        seen.add(name);
        if (++bound === pods) allBound();
      };
      informer.addEventHandler({ onAdd: count, onUpdate: (_old, pod) => count(pod) });
      informers.start();
      await informers.waitForCacheSync();
      log(`round ${round + 1}: creating ${pods} pods from ${opts.workers} workers`);
      const started = Date.now();
      let probing = false;
      const progress = setInterval(() => {
        const line = `  ${bound}/${pods} bound after ${((Date.now() - started) / 1000).toFixed(0)} s`;
        // A saturated server answers /metrics late; never let probes pile up or hold the count back.
        if (probing) return log(line);
        probing = true;
        void schedulerState().then((state) => {
          probing = false;
          log(`${line}; scheduler ${state}`);
        });
      }, 10_000);
      const summaries = await createPods(kubeconfig, namespace, pods);
      const createdSeconds = (Date.now() - started) / 1000;
      log(`  created in ${createdSeconds.toFixed(1)} s: ${summaries.join(" ")}`);
      await done;
      clearInterval(progress);
      const seconds = (Date.now() - started) / 1000;
      const rate = Math.round(pods / seconds);
      log(
        `  all ${pods} bound in ${seconds.toFixed(1)} s: ${rate} pods/s (creates alone ${Math.round(pods / createdSeconds)}/s); ${await schedulerState()}`,
      );
      const key = pods % 1000 === 0 ? `${pods / 1000}k` : String(pods);
      result[`pods_per_sec_${key}`] = rate;
      result[`create_per_sec_${key}`] = Math.round(pods / createdSeconds);
    }
    result.anchor_upstream_pods_per_sec = "680 (10k) / 810 (50k) at 5,000 nodes";
    result.target_pods_per_sec = 1000;
  } finally {
    await informers.shutdown();
    client.close();
    agent.destroy();
    if (hollow) await stopChild(hollow);
    await server.stop();
  }
  log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
