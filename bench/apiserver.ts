// bench/apiserver: `kite server` (embedded store) as its own process, loaded over HTTPS by worker
// processes: (1) 64 concurrent clients creating ConfigMaps as fast as they can; (2) an open-loop
// 500 creates/s, the phase the p99 target is about; (3) 1,000 watchers on one namespace while a
// writer creates 500 ConfigMaps/s, each stamped with its send time, for the delivery latency.
// (4) the same with each watcher watching its own node's pods (fieldSelector spec.nodeName), as
// kubelets do, so each event goes to one watcher.
// `npm run bench -- apiserver [--seconds 10] [--workers 4] [--clients 16] [--rate 500]
//   [--watchers 1000] [--watch-workers 4] [--phases 1,2,3,4] [--profile DIR] [--external-store]`
// --profile: the server runs under --cpu-prof; --external-store: the store runs as its own
// `kite store` process instead of inside `kite server` (to see what sharing one event loop costs).
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import {
  adminAgent,
  cpuSecondsOf,
  type RunningApiServer,
  readAdminCredentials,
  send,
  startKiteServer,
} from "./support/apiserver-client.js";
import {
  type CallSummary,
  type FanoutFloor,
  runCreates,
  runFanoutFloor,
  runRate,
  runWatchFanout,
  type WatchSummary,
} from "./support/apiserver-load.js";
import { startKiteStore } from "./support/servers.js";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function textFlag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const opts = {
  seconds: flag("seconds", 10),
  workers: flag("workers", 4),
  clientsPerWorker: flag("clients", 16),
  rate: flag("rate", 500),
  watchers: flag("watchers", 1000),
  watchWorkers: flag("watch-workers", 4),
  profileDir: textFlag("profile"),
  externalStore: process.argv.includes("--external-store"),
  /** When given, `kite server`'s output is appended to this file. */
  serverLog: textFlag("server-log"),
  /** Which phases run, e.g. "1,2" (A/B runs of the create path); default all. */
  phases: new Set((textFlag("phases") ?? "1,2,3,4,5").split(",").map(Number)),
};
const TARGET_CREATE_P99_MS = 50;
const TARGET_WATCH_P99_MS = 100;
const cliPath = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const log = (line: string) => console.log(line);

/** Prints a create phase; cpuSeconds is what the server process used meanwhile. */
function describe(name: string, r: CallSummary, cpuSeconds: number, seconds: number): void {
  const pct = Math.round((cpuSeconds / seconds) * 100);
  const perOp = r.ok > 0 ? ((cpuSeconds * 1000) / r.ok).toFixed(2) : "-";
  log(
    `  ${name.padEnd(8)} ${String(r.perSec).padStart(6)}/s  p50 ${r.p50Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms  max ${r.maxMs.toFixed(1)} ms  errors ${r.errors}${r.firstError ? ` (${r.firstError})` : ""}  server cpu ${pct}% (${perOp} ms per call)`,
  );
}

const rounded = (n: number) => Math.round(n * 10) / 10;

/** The JSON fields of one fan-out phase, under `prefix`. */
function fanoutFields(prefix: string, f: { summary: WatchSummary; cpu: number } | undefined) {
  if (!f) return {};
  const { summary: s, cpu } = f;
  return {
    [`${prefix}_writes_per_sec`]: s.writes.perSec,
    [`${prefix}_write_p99_ms`]: rounded(s.writes.p99Ms),
    [`${prefix}_delivery_p50_ms`]: s.p50Ms,
    [`${prefix}_delivery_p99_ms`]: s.p99Ms,
    [`${prefix}_delivered`]: s.delivered,
    [`${prefix}_expected`]: s.expected,
    [`${prefix}_errors`]: s.errors,
    [`${prefix}_server_cpu_ms_per_write`]: s.writes.ok > 0 ? Math.round((cpu * 1e5) / s.writes.ok) / 100 : 0,
    [`${prefix}_client_cpu_s`]: s.clientCpuSeconds,
  };
}

/** The transport floor of the all-events fan-out, in CPU cores at the phase's MB/s. */
function floorFields(f: FanoutFloor, mbPerSec: number) {
  return {
    floor_mb_per_sec: Math.round(mbPerSec),
    floor_server_cpu_ms_per_mb: f.serverMsPerMb,
    floor_client_cpu_ms_per_mb: f.clientMsPerMb,
    floor_cores_needed: rounded(((f.serverMsPerMb + f.clientMsPerMb) * mbPerSec) / 1000),
  };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  log(`starting kite server${opts.profileDir ? ` (cpu profile to ${opts.profileDir})` : ""}`);
  const store = opts.externalStore ? await startKiteStore(cliPath) : undefined;
  let server: RunningApiServer | undefined;
  try {
    server = await startKiteServer(cliPath, {
      profileDir: opts.profileDir,
      ...(opts.serverLog ? { logFile: opts.serverLog } : {}),
      ...(store ? { etcdServers: `http://${store.endpoint}` } : {}),
    });
    const creds = readAdminCredentials(server.dataDir);
    const agent = adminAgent(creds);
    for (const ns of ["bench-warmup", "bench-create", "bench-rate", "bench-watch", "bench-nodes"]) {
      const reply = await send(agent, creds, "POST", "/api/v1/namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns },
      });
      if (reply.status !== 201)
        throw new Error(`creating namespace ${ns}: HTTP ${reply.status} ${reply.body}`);
    }
    agent.destroy();
    const dataDir = server.dataDir;
    const apiserver = server;
    // With an external store, "server cpu" is both processes'.
    const serverSideCpu = () =>
      apiserver.cpuSeconds() + (store?.child.pid ? cpuSecondsOf(store.child.pid) : 0);
    const cpuDuring = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
      const before = serverSideCpu();
      const result = await fn();
      return [result, serverSideCpu() - before];
    };

    log("warming up (2s, 16 clients)");
    await runCreates({ dataDir, namespace: "bench-warmup", seconds: 2, workers: 2, clientsPerWorker: 8 });

    const concurrency = opts.workers * opts.clientsPerWorker;
    const skipped: CallSummary = {
      ok: 0,
      errors: 0,
      firstError: "",
      perSec: 0,
      p50Ms: 0,
      p99Ms: 0,
      maxMs: 0,
    };
    let [burst, burstCpu] = [skipped, 0];
    if (opts.phases.has(1)) {
      log(`phase 1: ${concurrency} concurrent clients creating ConfigMaps for ${opts.seconds}s`);
      [burst, burstCpu] = await cpuDuring(() => runCreates({ dataDir, namespace: "bench-create", ...opts }));
      describe("creates", burst, burstCpu, opts.seconds);
    }

    let [paced, pacedCpu] = [skipped, 0];
    if (opts.phases.has(2)) {
      log(`phase 2: open loop, ${opts.rate} creates/s for ${opts.seconds}s`);
      [paced, pacedCpu] = await cpuDuring(() =>
        runRate({ dataDir, namespace: "bench-rate", seconds: opts.seconds, workers: 2, rate: opts.rate }),
      );
      describe("creates", paced, pacedCpu, opts.seconds);
    }

    // Phase 3 is the issue's scenario: every watcher sees every event. Phase 4 is what kubelets
    // do: each watcher watches the pods of its own node (fieldSelector spec.nodeName), served from
    // the watch cache's node index, so each event goes to one watcher.
    const fanouts: Record<string, { summary: WatchSummary; cpu: number }> = {};
    for (const [phase, perNode] of [
      [3, false],
      [4, true],
    ] as const) {
      if (!opts.phases.has(phase)) continue;
      log(
        `phase ${phase}: ${opts.watchers} watchers over ${opts.watchWorkers} processes, ${opts.rate} writes/s, ${perNode ? "each watching its own node's pods (fieldSelector spec.nodeName)" : "each watching every ConfigMap of the namespace"}`,
      );
      const [fanout, watchCpu] = await cpuDuring(() =>
        runWatchFanout({
          dataDir,
          namespace: perNode ? "bench-nodes" : "bench-watch",
          seconds: opts.seconds,
          watchers: opts.watchers,
          workers: opts.watchWorkers,
          rate: opts.rate,
          perNode,
          log,
        }),
      );
      describe("writes", fanout.writes, watchCpu, opts.seconds);
      log(
        `  delivery p50 ${fanout.p50Ms} ms  p99 ${fanout.p99Ms} ms  max ${fanout.maxMs} ms  delivered ${fanout.delivered}/${fanout.expected} (fewest per watcher ${fanout.minPerWatcher}, ${fanout.bytesPerEvent} bytes each)  watcher processes' cpu ${fanout.clientCpuSeconds} s  errors ${fanout.errors}${fanout.firstError ? ` (${fanout.firstError})` : ""}`,
      );
      fanouts[perNode ? "node" : "all"] = { summary: fanout, cpu: watchCpu };
    }

    // Phase 5: the same bytes per second as phase 3 through a bare HTTPS server (no apiserver):
    // the CPU that TLS, chunked HTTP and loopback TCP alone cost the server and the clients.
    let floor: FanoutFloor | undefined;
    if (opts.phases.has(5)) {
      const bytesPerEvent = fanouts.all?.summary.bytesPerEvent || 500;
      const bytesPerSec = opts.rate * bytesPerEvent;
      log(
        `phase 5: transport floor, a bare HTTPS server writing ${((bytesPerSec * opts.watchers) / 1e6).toFixed(0)} MB/s to ${opts.watchers} clients`,
      );
      floor = await runFanoutFloor({
        dataDir,
        watchers: opts.watchers,
        bytesPerSec,
        flushMs: 50,
        seconds: Math.min(opts.seconds, 10),
      });
      const mbPerSec = (bytesPerSec * opts.watchers) / 1e6;
      log(
        `  ${floor.mb} MB in ${floor.seconds} s; server ${floor.serverMsPerMb} ms cpu per MB, clients ${floor.clientMsPerMb} ms per MB: at ${mbPerSec.toFixed(0)} MB/s that is ${((floor.serverMsPerMb * mbPerSec) / 1000).toFixed(2)} + ${((floor.clientMsPerMb * mbPerSec) / 1000).toFixed(2)} cores before any apiserver work`,
      );
    }
    console.log(
      JSON.stringify({
        bench: "apiserver",
        concurrency,
        creates_per_sec: burst.perSec,
        create_p50_ms: rounded(burst.p50Ms),
        create_p99_ms: rounded(burst.p99Ms),
        create_errors: burst.errors,
        server_cpu_ms_per_create: burst.ok > 0 ? Math.round((burstCpu * 1e5) / burst.ok) / 100 : 0,
        paced_rate: opts.rate,
        paced_creates_per_sec: paced.perSec,
        paced_create_p50_ms: rounded(paced.p50Ms),
        paced_create_p99_ms: rounded(paced.p99Ms),
        paced_create_errors: paced.errors,
        paced_server_cpu_ms_per_create: paced.ok > 0 ? Math.round((pacedCpu * 1e5) / paced.ok) / 100 : 0,
        watchers: opts.watchers,
        watch_scenario: "every watcher watches all ConfigMaps of one namespace and receives every event",
        ...fanoutFields("watch", fanouts.all),
        ...(fanouts.node
          ? {
              node_watch_scenario:
                "each watcher watches pods with fieldSelector spec.nodeName=its node (kubelet-like); each event goes to one watcher",
              ...fanoutFields("node_watch", fanouts.node),
            }
          : {}),
        ...(floor
          ? floorFields(
              floor,
              (opts.rate * (fanouts.all?.summary.bytesPerEvent || 500) * opts.watchers) / 1e6,
            )
          : {}),
        target_create_p99_ms: TARGET_CREATE_P99_MS,
        target_watch_delivery_p99_ms: TARGET_WATCH_P99_MS,
        meets_targets:
          opts.phases.has(2) &&
          opts.phases.has(3) &&
          paced.p99Ms <= TARGET_CREATE_P99_MS &&
          (fanouts.all?.summary.p99Ms ?? Number.POSITIVE_INFINITY) <= TARGET_WATCH_P99_MS,
        upstream_slo_ms: 1000,
        seconds: opts.seconds,
        store: opts.externalStore ? "separate process" : "embedded (in-process calls)",
        load_average_1m: [rounded(loadAtStart), rounded(loadavg()[0]!)],
      }),
    );
  } finally {
    await server?.stop();
    await store?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
