// bench/store-single: the same multi-process etcd v3 gRPC load (256-byte values, fsync on)
// against a single-member kite store and a single-member etcd 3.4, in one run.
// `npm run bench -- store-single [--seconds 5] [--workers 4] [--clients 16]`
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { waitServing } from "./support/etcd-client.js";
import { type PhaseResult, runPhase } from "./support/load.js";
import { type RunningServer, startEtcd, startKiteStore } from "./support/servers.js";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const opts = {
  seconds: flag("seconds", 5),
  workers: flag("workers", 4),
  clientsPerWorker: flag("clients", 16),
  valueBytes: 256,
};
const cliPath = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

async function measure(server: RunningServer): Promise<{ put: PhaseResult; range: PhaseResult }> {
  await waitServing(server.endpoint);
  console.log(`${server.name}: warming up`);
  await runPhase(server.endpoint, "put", { ...opts, seconds: 1 });
  console.log(`${server.name}: puts for ${opts.seconds}s, ${opts.workers}x${opts.clientsPerWorker} clients`);
  const put = await runPhase(server.endpoint, "put", opts);
  console.log(`${server.name}: linearizable ranges for ${opts.seconds}s`);
  const range = await runPhase(server.endpoint, "range", opts);
  for (const r of [put, range]) {
    console.log(
      `  ${server.name} ${r.op.padEnd(6)} ${String(r.perSec).padStart(7)}/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  errors ${r.errors}${r.firstError ? ` (${r.firstError})` : ""}`,
    );
  }
  return { put, range };
}

async function withServer<T>(
  start: () => Promise<RunningServer>,
  fn: (s: RunningServer) => Promise<T>,
): Promise<T> {
  const server = await start();
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  if (!existsSync("/usr/bin/etcd")) throw new Error("etcd is not installed (apt-get install etcd-server)");
  const etcd = await withServer(() => startEtcd(), measure);
  const kite = await withServer(() => startKiteStore(cliPath), measure);
  const ratio = (a: number, b: number) => (b === 0 ? 0 : Math.round((a / b) * 100) / 100);
  console.log(
    JSON.stringify({
      bench: "store-single",
      concurrency: opts.workers * opts.clientsPerWorker,
      value_bytes: opts.valueBytes,
      kite_puts_per_sec: kite.put.perSec,
      etcd_puts_per_sec: etcd.put.perSec,
      put_ratio: ratio(kite.put.perSec, etcd.put.perSec),
      kite_put_p50_ms: kite.put.p50Ms,
      etcd_put_p50_ms: etcd.put.p50Ms,
      kite_put_p99_ms: kite.put.p99Ms,
      etcd_put_p99_ms: etcd.put.p99Ms,
      kite_ranges_per_sec: kite.range.perSec,
      etcd_ranges_per_sec: etcd.range.perSec,
      range_ratio: ratio(kite.range.perSec, etcd.range.perSec),
      kite_errors: kite.put.errors + kite.range.errors,
      etcd_errors: etcd.put.errors + etcd.range.errors,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
