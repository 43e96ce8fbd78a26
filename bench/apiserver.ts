// bench/apiserver: `kite server` (embedded store) as its own process, loaded over HTTPS by worker
// processes: (1) 64 concurrent clients creating ConfigMaps as fast as they can; (2) an open-loop
// 500 creates/s, the phase the p99 target is about; (3) 1,000 watchers on one namespace while a
// writer creates 500 ConfigMaps/s, each stamped with its send time, for the delivery latency.
// `npm run bench -- apiserver [--seconds 10] [--workers 4] [--clients 16] [--rate 500]
//   [--watchers 1000] [--watch-workers 4] [--profile DIR] [--external-store]`
// --profile: the server runs under --cpu-prof; --external-store: the store runs as its own
// `kite store` process instead of inside `kite server` (to see what sharing one event loop costs).
import { fileURLToPath } from "node:url";
import {
  adminAgent,
  cpuSecondsOf,
  type RunningApiServer,
  readAdminCredentials,
  send,
  startKiteServer,
} from "./support/apiserver-client.js";
import { type CallSummary, runCreates, runRate, runWatchFanout } from "./support/apiserver-load.js";
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

async function main(): Promise<void> {
  log(`starting kite server${opts.profileDir ? ` (cpu profile to ${opts.profileDir})` : ""}`);
  const store = opts.externalStore ? await startKiteStore(cliPath) : undefined;
  let server: RunningApiServer | undefined;
  try {
    server = await startKiteServer(cliPath, {
      profileDir: opts.profileDir,
      ...(store ? { etcdServers: `http://${store.endpoint}` } : {}),
    });
    const creds = readAdminCredentials(server.dataDir);
    const agent = adminAgent(creds);
    for (const ns of ["bench-warmup", "bench-create", "bench-rate", "bench-watch"]) {
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
    log(`phase 1: ${concurrency} concurrent clients creating ConfigMaps for ${opts.seconds}s`);
    const [burst, burstCpu] = await cpuDuring(() =>
      runCreates({ dataDir, namespace: "bench-create", ...opts }),
    );
    describe("creates", burst, burstCpu, opts.seconds);

    log(`phase 2: open loop, ${opts.rate} creates/s for ${opts.seconds}s`);
    const [paced, pacedCpu] = await cpuDuring(() =>
      runRate({ dataDir, namespace: "bench-rate", seconds: opts.seconds, workers: 2, rate: opts.rate }),
    );
    describe("creates", paced, pacedCpu, opts.seconds);

    log(`phase 3: ${opts.watchers} watchers over ${opts.watchWorkers} processes, ${opts.rate} writes/s`);
    const [fanout, watchCpu] = await cpuDuring(() =>
      runWatchFanout({
        dataDir,
        namespace: "bench-watch",
        seconds: opts.seconds,
        watchers: opts.watchers,
        workers: opts.watchWorkers,
        rate: opts.rate,
        log,
      }),
    );
    describe("writes", fanout.writes, watchCpu, opts.seconds);
    log(
      `  delivery p50 ${fanout.p50Ms} ms  p99 ${fanout.p99Ms} ms  max ${fanout.maxMs} ms  delivered ${fanout.delivered}/${fanout.expected} (fewest per watcher ${fanout.minPerWatcher}, ${fanout.bytesPerEvent} bytes each)  watcher processes' cpu ${fanout.clientCpuSeconds} s  errors ${fanout.errors}${fanout.firstError ? ` (${fanout.firstError})` : ""}`,
    );
    const rounded = (n: number) => Math.round(n * 10) / 10;
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
        watchers: opts.watchers,
        watch_writes_per_sec: fanout.writes.perSec,
        watch_write_p99_ms: rounded(fanout.writes.p99Ms),
        watch_delivery_p50_ms: fanout.p50Ms,
        watch_delivery_p99_ms: fanout.p99Ms,
        watch_delivered: fanout.delivered,
        watch_expected: fanout.expected,
        watch_errors: fanout.errors,
        watch_server_cpu_ms_per_write:
          fanout.writes.ok > 0 ? Math.round((watchCpu * 1e5) / fanout.writes.ok) / 100 : 0,
        target_create_p99_ms: TARGET_CREATE_P99_MS,
        target_watch_delivery_p99_ms: TARGET_WATCH_P99_MS,
        meets_targets: paced.p99Ms <= TARGET_CREATE_P99_MS && fanout.p99Ms <= TARGET_WATCH_P99_MS,
        upstream_slo_ms: 1000,
        seconds: opts.seconds,
        store: opts.externalStore ? "separate process" : "embedded",
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
