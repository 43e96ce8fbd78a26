// Runs apiserver load phases as worker processes (apiserver-worker.ts) and merges their results.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface CallResult {
  ok: number;
  errors: number;
  firstError: string;
  latenciesUs: number[];
}

export interface WatchResult {
  watchers: number;
  events: number;
  /** Characters of watch stream received. */
  bytes: number;
  errors: number;
  firstError: string;
  /** Delivery latency histogram: histogram[ms] = events delivered after that many ms. */
  histogram: number[];
  /** Fewest events any watcher saw. */
  minEvents: number;
  /** CPU the watching process used in all (the load generator competes with the server for cores). */
  cpuSeconds: number;
}

export interface CallSummary {
  ok: number;
  errors: number;
  firstError: string;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface WatchSummary {
  watchers: number;
  writes: CallSummary;
  /** Events delivered, and how many a full fan-out of the acknowledged writes would be. */
  delivered: number;
  expected: number;
  bytesPerEvent: number;
  /** CPU seconds all watcher processes used. */
  clientCpuSeconds: number;
  minPerWatcher: number;
  errors: number;
  firstError: string;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const workerPath = fileURLToPath(new URL("./apiserver-worker.js", import.meta.url));

function startWorker(args: string[]): { child: ChildProcess; output: Promise<string> } {
  const child = spawn(process.execPath, [workerPath, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const output = new Promise<string>((resolve, reject) =>
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`apiserver load worker exited with ${code}`)),
    ),
  );
  return { child, output };
}

const lastLine = (out: string) => out.trim().split("\n").pop() ?? "{}";

function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarize(results: CallResult[], seconds: number): CallSummary {
  const latencies = Float64Array.from(results.flatMap((r) => r.latenciesUs)).sort();
  const ok = results.reduce((n, r) => n + r.ok, 0);
  return {
    ok,
    errors: results.reduce((n, r) => n + r.errors, 0),
    firstError: results.find((r) => r.firstError)?.firstError ?? "",
    perSec: Math.round(ok / seconds),
    p50Ms: percentile(latencies, 50) / 1000,
    p99Ms: percentile(latencies, 99) / 1000,
    maxMs: (latencies[latencies.length - 1] ?? 0) / 1000,
  };
}

interface Common {
  dataDir: string;
  namespace: string;
  seconds: number;
}

const commonArgs = (c: Common, worker: number) => [
  "--data-dir",
  c.dataDir,
  "--namespace",
  c.namespace,
  "--seconds",
  String(c.seconds),
  "--worker",
  String(worker),
];

/** Closed loop: workers × clientsPerWorker callers creating ConfigMaps back to back. */
export async function runCreates(c: Common & { workers: number; clientsPerWorker: number }) {
  const runs = Array.from({ length: c.workers }, (_, w) =>
    startWorker([...commonArgs(c, w), "--mode", "create", "--clients", String(c.clientsPerWorker)]),
  );
  const results = await Promise.all(runs.map(async (r) => JSON.parse(lastLine(await r.output))));
  return summarize(results as CallResult[], c.seconds);
}

/**
 * Open loop: `rate` creates per second spread over `workers` processes. With `podsForNodes` the
 * writer creates Pods bound round-robin to nodes node-0..node-(n-1) instead of ConfigMaps.
 */
export async function runRate(
  c: Common & { workers: number; rate: number; workerOffset?: number; podsForNodes?: number },
) {
  const runs = Array.from({ length: c.workers }, (_, w) =>
    startWorker([
      ...commonArgs(c, w + (c.workerOffset ?? 0)),
      "--mode",
      "rate",
      "--rate",
      String(c.rate / c.workers),
      ...(c.podsForNodes ? ["--pods-for-nodes", String(c.podsForNodes)] : []),
    ]),
  );
  const results = await Promise.all(runs.map(async (r) => JSON.parse(lastLine(await r.output))));
  return summarize(results as CallResult[], c.seconds);
}

/**
 * Opens `watchers` watches over `workers` processes, waits until all are open, runs the writer
 * (an open-loop create phase in the same namespace), then lets the watchers drain. With perNode
 * watcher i watches the pods of node-i (fieldSelector spec.nodeName) and the writer creates pods
 * spread round-robin over those nodes, so each event is for one watcher.
 */
export async function runWatchFanout(
  c: Common & {
    watchers: number;
    workers: number;
    rate: number;
    perNode?: boolean;
    log: (line: string) => void;
  },
): Promise<WatchSummary> {
  const per = Math.ceil(c.watchers / c.workers);
  const runs = Array.from({ length: c.workers }, (_, w) => {
    const count = Math.min(per, c.watchers - w * per);
    const run = startWorker([
      ...commonArgs(c, 100 + w),
      "--mode",
      "watch",
      "--watchers",
      String(count),
      ...(c.perNode ? ["--node-watchers-from", String(w * per), "--nodes", String(c.watchers)] : []),
    ]);
    const ready = new Promise<void>((resolve) => {
      const onData = (d: Buffer) => {
        if (d.toString().includes("ready\n")) {
          run.child.stdout?.off("data", onData);
          resolve();
        }
      };
      run.child.stdout?.on("data", onData);
    });
    return { ...run, count, ready };
  });
  await Promise.race([Promise.all(runs.map((r) => r.ready)), ...runs.map((r) => r.output)]);
  c.log(`  ${c.watchers} watchers open; writing ${c.rate}/s for ${c.seconds}s`);
  const writes = await runRate({ ...c, workers: 1, ...(c.perNode ? { podsForNodes: c.watchers } : {}) });
  // Node watchers are told how many pods the writer made in all; each works out its own share.
  for (const r of runs) r.child.stdin?.end(`expect ${writes.ok}\n`);
  const results = (await Promise.all(
    runs.map(async (r) => JSON.parse(lastLine(await r.output))),
  )) as WatchResult[];
  const histogram: number[] = [];
  for (const r of results) {
    r.histogram.forEach((n, ms) => {
      histogram[ms] = (histogram[ms] ?? 0) + n;
    });
  }
  const delivered = results.reduce((n, r) => n + r.events, 0);
  const at = (p: number) => {
    const rank = Math.min(delivered - 1, Math.floor((p / 100) * delivered));
    let seen = 0;
    for (let ms = 0; ms < histogram.length; ms++) {
      seen += histogram[ms] ?? 0;
      if (seen > rank) return ms;
    }
    return 0;
  };
  return {
    watchers: c.watchers,
    writes,
    delivered,
    expected: c.perNode ? writes.ok : writes.ok * c.watchers,
    clientCpuSeconds: Math.round(results.reduce((n, r) => n + r.cpuSeconds, 0) * 10) / 10,
    bytesPerEvent: Math.round(results.reduce((n, r) => n + r.bytes, 0) / Math.max(1, delivered)),
    minPerWatcher: Math.min(...results.map((r) => r.minEvents)),
    errors: results.reduce((n, r) => n + r.errors, 0),
    firstError: results.find((r) => r.firstError)?.firstError ?? "",
    p50Ms: at(50),
    p99Ms: at(99),
    maxMs: Math.max(0, histogram.length - 1),
  };
}

/** CPU the bare transport of a fan-out costs (bench/support/tls-fanout.ts). */
export interface FanoutFloor {
  mb: number;
  serverCpuS: number;
  clientCpuS: number;
  serverMsPerMb: number;
  clientMsPerMb: number;
  seconds: number;
}

const floorPath = fileURLToPath(new URL("./tls-fanout.js", import.meta.url));

/** Runs tls-fanout.ts: `bytesPerSec` to `watchers` HTTPS clients for `seconds`, nothing else. */
export async function runFanoutFloor(c: {
  dataDir: string;
  watchers: number;
  bytesPerSec: number;
  flushMs: number;
  seconds: number;
}): Promise<FanoutFloor> {
  const args = [c.dataDir, c.watchers, Math.round(c.bytesPerSec), c.flushMs, c.seconds].map(String);
  const child = spawn(process.execPath, [floorPath, "server", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await new Promise<void>((resolve, reject) =>
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`tls-fanout exited with ${code}`)),
    ),
  );
  return JSON.parse(lastLine(out)) as FanoutFloor;
}
