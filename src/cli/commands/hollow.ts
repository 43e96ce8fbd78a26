// `kite hollow`: registers N hollow nodes against an apiserver and keeps them alive (leases,
// status, running the pods bound to them) until SIGINT/SIGTERM.
import { parseQuantity } from "../../api/index.js";
import { RestClient } from "../../client/index.js";
import {
  type HollowNodes,
  type NodeShape,
  parseLabels,
  parseTaints,
  startHollowNodes,
} from "../../hollow/index.js";
import { walkFlags } from "../flags.js";
import { type Command, parseCommandFlags } from "../index.js";

export const HOLLOW_USAGE = `Run hollow (simulated) nodes: Node objects with Lease heartbeats whose pods are marked Running

Usage:
  kite hollow --kubeconfig FILE --nodes N [flags]

Flags:
      --kubeconfig string              Kubeconfig of the cluster (required)
      --nodes int                      Number of nodes (required)
      --name-prefix string             Node name prefix; nodes are <prefix>0..<prefix>N-1 (default "hollow-")
      --cpu string                     CPU capacity per node (default 32)
      --memory string                  Memory capacity per node (default 256Gi)
      --pods string                    Pod capacity per node (default 110)
      --labels string                  Extra node labels, k=v,k2=v2
      --taints string                  Node taints, k=v:Effect,k2:Effect
      --instance-type string           node.kubernetes.io/instance-type label
      --lease-interval duration        Lease renewal period (default 10s)
      --status-interval duration       Node status check period (default 10s)
      --status-report-interval duration  An unchanged node status is still reported this often (default 5m)
      --pod-completion-seconds int     Run time of pods whose restartPolicy is not Always (default 5)
      --concurrency int                Registrations in flight (default 64)
  -h, --help                           Help for hollow`;

export interface HollowFlags {
  kubeconfig: string;
  nodes: number;
  namePrefix: string;
  shape: NodeShape;
  leaseIntervalMs: number;
  statusIntervalMs: number;
  /** Set only when the flag is given. */
  statusReportMs?: number;
  podCompletionMs: number;
  concurrency: number;
  help: boolean;
}

export class HollowFlagError extends Error {}

/** "10s", "500ms", "2m", or a bare number of seconds. */
export function parseDurationMs(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new HollowFlagError(`invalid argument "${text}" for "${flag}": want a duration such as 10s`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  const ms = Number(m[1]) * unit;
  if (!(ms > 0)) throw new HollowFlagError(`invalid argument "${text}" for "${flag}": must be positive`);
  return ms;
}

function parseCount(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min)
    throw new HollowFlagError(`invalid argument "${text}" for "${flag}": want an integer >= ${min}`);
  return Number(text);
}

function parseQuantityFlag(flag: string, text: string): string {
  try {
    parseQuantity(text);
  } catch (err) {
    throw new HollowFlagError(`invalid argument "${text}" for "${flag}": ${(err as Error).message}`);
  }
  return text;
}

export function parseHollowFlags(args: string[]): HollowFlags {
  const flags: HollowFlags = {
    kubeconfig: "",
    nodes: -1,
    namePrefix: "hollow-",
    shape: { cpu: "32", memory: "256Gi", pods: "110", labels: {}, taints: [] },
    leaseIntervalMs: 10_000,
    statusIntervalMs: 10_000,
    podCompletionMs: 5_000,
    concurrency: 64,
    help: false,
  };
  for (const { name, arg, value } of walkFlags(args, (m) => new HollowFlagError(m))) {
    if (arg === "-h" || arg === "--help") {
      flags.help = true;
      continue;
    }
    try {
      switch (name) {
        case "--kubeconfig":
          flags.kubeconfig = value();
          break;
        case "--nodes":
          flags.nodes = parseCount(name, value(), 0);
          break;
        case "--name-prefix":
          flags.namePrefix = value();
          break;
        case "--cpu":
          flags.shape.cpu = parseQuantityFlag(name, value());
          break;
        case "--memory":
          flags.shape.memory = parseQuantityFlag(name, value());
          break;
        case "--pods":
          flags.shape.pods = parseQuantityFlag(name, value());
          break;
        case "--labels":
          flags.shape.labels = parseLabels(value());
          break;
        case "--taints":
          flags.shape.taints = parseTaints(value());
          break;
        case "--instance-type":
          flags.shape.instanceType = value();
          break;
        case "--lease-interval":
          flags.leaseIntervalMs = parseDurationMs(name, value());
          break;
        case "--status-interval":
          flags.statusIntervalMs = parseDurationMs(name, value());
          break;
        case "--status-report-interval":
          flags.statusReportMs = parseDurationMs(name, value());
          break;
        case "--pod-completion-seconds":
          flags.podCompletionMs = parseCount(name, value(), 0) * 1000;
          break;
        case "--concurrency":
          flags.concurrency = parseCount(name, value(), 1);
          break;
        default:
          throw new HollowFlagError(`unknown flag: ${name}`);
      }
    } catch (err) {
      if (err instanceof HollowFlagError) throw err;
      throw new HollowFlagError(`invalid argument for "${name}": ${(err as Error).message}`);
    }
  }
  if (!flags.help && flags.kubeconfig === "") throw new HollowFlagError("--kubeconfig is required");
  if (!flags.help && flags.nodes < 0) throw new HollowFlagError("--nodes is required");
  return flags;
}

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

async function run(args: string[]): Promise<number> {
  const flags = parseCommandFlags(
    "hollow",
    args,
    parseHollowFlags,
    (err) => err instanceof HollowFlagError,
    HOLLOW_USAGE,
  );
  if (typeof flags === "number") return flags;
  const client = RestClient.fromKubeconfig(flags.kubeconfig);
  let lastPrint = 0;
  let hollow: HollowNodes | undefined;
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: received ${signal}`);
    await hollow?.stop();
    client.close();
  };
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => void stop(signal).then(stopped);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    hollow = await startHollowNodes({
      client,
      nodes: flags.nodes,
      namePrefix: flags.namePrefix,
      shape: flags.shape,
      leaseIntervalMs: flags.leaseIntervalMs,
      statusIntervalMs: flags.statusIntervalMs,
      ...(flags.statusReportMs !== undefined ? { statusReportMs: flags.statusReportMs } : {}),
      podCompletionMs: flags.podCompletionMs,
      registerConcurrency: flags.concurrency,
      log,
      onProgress: (n, total) => {
        if (n === total || Date.now() - lastPrint >= 1_000) {
          lastPrint = Date.now();
          console.log(`registered ${n}/${total} nodes`);
        }
      },
    });
  } catch (err) {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    client.close();
    console.error(`Error: ${(err as Error).message}`);
    return 1;
  }
  if (stopping) await hollow.stop();
  else log(`${flags.nodes} hollow nodes running; SIGINT or SIGTERM stops them`);
  await done;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return 0;
}

export const hollowCommand: Command = {
  name: "hollow",
  summary: "Run N hollow (simulated) nodes against a cluster until stopped",
  run,
};
