// Runs a load phase as several worker processes against one or more endpoints and merges their results.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface PhaseResult {
  op: string;
  ok: number;
  errors: number;
  firstError: string;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
}

const workerPath = fileURLToPath(new URL("./etcd-load-worker.js", import.meta.url));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Worker i talks to endpoints[i % endpoints.length] (a single endpoint string is one member). */
export async function runPhase(
  endpoints: string | string[],
  op: "put" | "range" | "range-serializable",
  opts: { workers: number; clientsPerWorker: number; seconds: number; valueBytes: number },
): Promise<PhaseResult> {
  const targets = typeof endpoints === "string" ? [endpoints] : endpoints;
  const runs = Array.from({ length: opts.workers }, (_, worker) => {
    const child = spawn(
      process.execPath,
      [
        workerPath,
        "--endpoint",
        targets[worker % targets.length]!,
        "--op",
        op,
        "--clients",
        String(opts.clientsPerWorker),
        "--seconds",
        String(opts.seconds),
        "--value-bytes",
        String(opts.valueBytes),
        "--worker",
        String(worker),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    return new Promise<{ ok: number; errors: number; firstError: string; latenciesUs: number[] }>(
      (resolve, reject) =>
        child.once("exit", (code) =>
          code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load worker exited with ${code}`)),
        ),
    );
  });
  const results = await Promise.all(runs);
  const latencies = results.flatMap((r) => r.latenciesUs).sort((a, b) => a - b);
  const ok = results.reduce((n, r) => n + r.ok, 0);
  return {
    op,
    ok,
    errors: results.reduce((n, r) => n + r.errors, 0),
    firstError: results.find((r) => r.firstError)?.firstError ?? "",
    perSec: Math.round(ok / opts.seconds),
    p50Ms: percentile(latencies, 50) / 1000,
    p99Ms: percentile(latencies, 99) / 1000,
  };
}
