// bench/store-cluster: the same multi-process etcd v3 gRPC load (256-byte values, fsync on)
// against a 3-member kite store cluster and a 3-member etcd 3.4 cluster, one after the other:
// puts at 1, 16 and 256 clients, linearizable and serializable reads, and the time from
// SIGKILLing the leader to the first write a surviving member acknowledges.
// `npm run bench -- store-cluster [--seconds 3] [--read-workers 4] [--read-clients 16]`
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { kvClient, memberStatus, waitServing } from "./support/etcd-client.js";
import { type PhaseResult, runPhase } from "./support/load.js";
import {
  type ClusterMember,
  type RunningCluster,
  startEtcdCluster,
  startKiteCluster,
} from "./support/servers.js";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const seconds = flag("seconds", 3);
const valueBytes = 256;
const putShapes = [
  { clients: 1, workers: 1, clientsPerWorker: 1 },
  { clients: 16, workers: 2, clientsPerWorker: 8 },
  { clients: 256, workers: 4, clientsPerWorker: 64 },
] as const;
const readShape = { workers: flag("read-workers", 4), clientsPerWorker: flag("read-clients", 16) };
const failoverBoundMs = 30_000;
const attemptDeadlineMs = 250;
const cliPath = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

interface ClusterFigures {
  puts: PhaseResult[];
  linReads: PhaseResult;
  serReads: PhaseResult;
  failoverMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until every member reports the same leader and returns that member. */
async function findLeader(members: ClusterMember[], deadlineMs = 15_000): Promise<ClusterMember> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const statuses = await Promise.all(members.map((m) => memberStatus(m.endpoint)));
      const lead = statuses[0]!.leader;
      const index = statuses.findIndex((s) => s.memberId === lead);
      if (lead !== "0" && index >= 0 && statuses.every((s) => s.leader === lead)) return members[index]!;
    } catch {
      // a member not answering yet counts as no agreement
    }
    if (Date.now() > until) throw new Error(`no agreed leader within ${deadlineMs} ms`);
    await sleep(50);
  }
}

function report(name: string, label: string, r: PhaseResult): void {
  console.log(
    `  ${name} ${label.padEnd(12)} ${String(r.perSec).padStart(7)}/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  errors ${r.errors}${r.firstError ? ` (${r.firstError})` : ""}`,
  );
}

/**
 * SIGKILLs the leader, then writes through every survivor in parallel, each attempt bounded by a
 * short deadline, until one acknowledges; the clients are connected before the kill so the
 * figure holds no connection setup.
 */
async function measureFailover(cluster: RunningCluster): Promise<number> {
  const leader = await findLeader(cluster.members);
  const survivors = cluster.members.filter((m) => m !== leader).map((m) => kvClient(m.endpoint));
  try {
    for (const kv of survivors)
      await kv.putWithin({ key: Buffer.from("failover/warm"), value: Buffer.from("x") }, 5000);
    console.log(`${cluster.name}: SIGKILL leader ${leader.name}`);
    const killedAt = performance.now();
    await leader.kill();
    let attempt = 0;
    while (performance.now() - killedAt < failoverBoundMs) {
      const req = { key: Buffer.from(`failover/${attempt++}`), value: Buffer.from("x") };
      try {
        await Promise.any(survivors.map((kv) => kv.putWithin(req, attemptDeadlineMs)));
        return Math.round(performance.now() - killedAt);
      } catch {
        await sleep(10);
      }
    }
    throw new Error(`${cluster.name}: no write succeeded within ${failoverBoundMs} ms of killing the leader`);
  } finally {
    for (const kv of survivors) kv.close();
  }
}

async function measure(cluster: RunningCluster): Promise<ClusterFigures> {
  for (const m of cluster.members) await waitServing(m.endpoint);
  const leader = await findLeader(cluster.members);
  // Leader first, so the single-client phase talks to the leader in both clusters.
  const endpoints = [leader, ...cluster.members.filter((m) => m !== leader)].map((m) => m.endpoint);
  console.log(`${cluster.name}: 3 members serving, leader ${leader.name}; warming up`);
  await runPhase(endpoints, "put", { workers: 2, clientsPerWorker: 8, seconds: 1, valueBytes });
  const puts: PhaseResult[] = [];
  for (const shape of putShapes) {
    console.log(`${cluster.name}: puts for ${seconds}s, ${shape.workers}x${shape.clientsPerWorker} clients`);
    const r = await runPhase(endpoints, "put", { ...shape, seconds, valueBytes });
    report(cluster.name, `put c${shape.clients}`, r);
    puts.push(r);
  }
  const readOpts = { ...readShape, seconds, valueBytes };
  console.log(
    `${cluster.name}: reads for ${seconds}s each, ${readShape.workers}x${readShape.clientsPerWorker} clients`,
  );
  const linReads = await runPhase(endpoints, "range", readOpts);
  report(cluster.name, "lin read", linReads);
  const serReads = await runPhase(endpoints, "range-serializable", readOpts);
  report(cluster.name, "ser read", serReads);
  const failoverMs = await measureFailover(cluster);
  console.log(`  ${cluster.name} failover     ${failoverMs} ms`);
  return { puts, linReads, serReads, failoverMs };
}

async function withCluster(start: () => Promise<RunningCluster>): Promise<ClusterFigures> {
  const cluster = await start();
  try {
    return await measure(cluster);
  } finally {
    await cluster.stop();
  }
}

function figures(prefix: string, f: ClusterFigures): Record<string, number> {
  const out: Record<string, number> = {};
  putShapes.forEach((shape, i) => {
    out[`${prefix}_puts_per_sec_c${shape.clients}`] = f.puts[i]!.perSec;
    out[`${prefix}_put_p99_ms_c${shape.clients}`] = f.puts[i]!.p99Ms;
  });
  out[`${prefix}_lin_reads_per_sec`] = f.linReads.perSec;
  out[`${prefix}_ser_reads_per_sec`] = f.serReads.perSec;
  out[`${prefix}_failover_ms`] = f.failoverMs;
  out[`${prefix}_errors`] = [...f.puts, f.linReads, f.serReads].reduce((n, r) => n + r.errors, 0);
  return out;
}

async function main(): Promise<void> {
  if (!existsSync("/usr/bin/etcd")) throw new Error("etcd is not installed (apt-get install etcd-server)");
  const etcd = figures("etcd", await withCluster(() => startEtcdCluster(3)));
  const kite = figures("kite", await withCluster(() => startKiteCluster(cliPath, 3)));
  const ratio = (key: string) => {
    const b = etcd[`etcd_${key}`]!;
    return b === 0 ? 0 : Math.round((kite[`kite_${key}`]! / b) * 100) / 100;
  };
  const ratios: Record<string, number> = {};
  for (const key of Object.keys(kite).map((k) => k.slice("kite_".length))) {
    if (key !== "errors") ratios[`ratio_${key}`] = ratio(key);
  }
  console.log(
    JSON.stringify({
      bench: "store-cluster",
      members: 3,
      value_bytes: valueBytes,
      seconds,
      ...kite,
      ...etcd,
      ...ratios,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
