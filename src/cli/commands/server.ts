// `kite server`: runs the Kubernetes API server over HTTPS. Without --etcd-servers it first
// starts an embedded single-member kite store (data in <data-dir>/store) serving the etcd v3
// API on loopback, and points the apiserver at it. Once the apiserver is ready the
// controller-manager and the scheduler start in-process (unless disabled). SIGINT/SIGTERM stop
// them, then the apiserver, then the store.

import { walkFlags } from "../flags.js";
import { type Command, parseCommandFlags } from "../index.js";
import { parseDurationMs } from "./hollow.js";
import { runUntilSignal, startServerStack } from "./stack.js";

export const SERVER_USAGE = `Run the Kubernetes API server (and, without --etcd-servers, an embedded kite store)

Usage:
  kite server --data-dir DIR [flags]

Flags:
      --data-dir string                   Directory for certificates, tokens, the admin kubeconfig and the embedded store (required)
      --port int                          HTTPS port (default 6443; 0 picks a free one)
      --bind-address string               Address to listen on (default 127.0.0.1)
      --etcd-servers strings              etcd client URLs (comma separated); default: the embedded kite store
      --store-port int                    Port of the embedded store's etcd API on 127.0.0.1 (default 2379, or a free one if taken)
      --service-cluster-ip-range string   CIDR of service cluster IPs (default 10.96.0.0/12)
      --service-node-port-range string    Range of NodePorts (default 30000-32767)
      --cluster-cidr string               Range node IPAM cuts per-node pod CIDRs (/24) from (default 10.244.0.0/16, 256 nodes)
      --node-monitor-grace-period duration  How long a node may stay silent before it is marked Unknown (default 50s)
      --node-monitor-period duration      How often the node lifecycle controller checks node health (default 5s)
      --disable-controllers               Do not run the controller-manager
      --disable-scheduler                 Do not run the scheduler
  -h, --help                              Help for server`;

export interface ServerFlags {
  dataDir: string;
  port: number;
  bindAddress: string;
  etcdServers: string[];
  storePort?: number;
  serviceClusterIpRange: string;
  serviceNodePortRange?: string;
  /** The controller-manager's --cluster-cidr; set only when the flag is given. */
  clusterCIDR?: string;
  /** Set only when the flag is given. */
  nodeMonitorGracePeriodMs?: number;
  nodeMonitorPeriodMs?: number;
  disableControllers?: boolean;
  disableScheduler?: boolean;
  help: boolean;
}

export class ServerFlagError extends Error {}

function parsePort(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new ServerFlagError(`invalid argument "${value}" for "${flag}": want a port 0-65535`);
  return n;
}

function durationFlag(flag: string, value: string): number {
  try {
    return parseDurationMs(flag, value);
  } catch (err) {
    throw new ServerFlagError((err as Error).message);
  }
}

export function parseServerFlags(args: string[]): ServerFlags {
  const flags: ServerFlags = {
    dataDir: "",
    port: 6443,
    bindAddress: "127.0.0.1",
    etcdServers: [],
    serviceClusterIpRange: "10.96.0.0/12",
    help: false,
  };
  for (const { name, arg, value } of walkFlags(args, (m) => new ServerFlagError(m))) {
    if (arg === "-h" || arg === "--help") {
      flags.help = true;
      continue;
    }
    if (arg === "--disable-controllers" || arg === "--disable-scheduler") {
      if (arg === "--disable-controllers") flags.disableControllers = true;
      else flags.disableScheduler = true;
      continue;
    }
    switch (name) {
      case "--data-dir":
        flags.dataDir = value();
        break;
      case "--port":
      case "--secure-port":
        flags.port = parsePort(name, value());
        break;
      case "--bind-address":
        flags.bindAddress = value();
        break;
      case "--etcd-servers":
        flags.etcdServers = value()
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "");
        break;
      case "--store-port":
        flags.storePort = parsePort(name, value());
        break;
      case "--service-cluster-ip-range":
        flags.serviceClusterIpRange = value();
        break;
      case "--service-node-port-range":
        flags.serviceNodePortRange = value();
        break;
      case "--cluster-cidr":
        flags.clusterCIDR = value();
        break;
      case "--node-monitor-grace-period":
        flags.nodeMonitorGracePeriodMs = durationFlag(name, value());
        break;
      case "--node-monitor-period":
        flags.nodeMonitorPeriodMs = durationFlag(name, value());
        break;
      default:
        throw new ServerFlagError(`unknown flag: ${name}`);
    }
  }
  if (!flags.help && flags.dataDir === "") throw new ServerFlagError("--data-dir is required");
  return flags;
}

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

async function run(args: string[]): Promise<number> {
  const flags = parseCommandFlags(
    "server",
    args,
    parseServerFlags,
    (err) => err instanceof ServerFlagError,
    SERVER_USAGE,
  );
  if (typeof flags === "number") return flags;
  const stack = await startServerStack({
    dataDir: flags.dataDir,
    port: flags.port,
    bindAddress: flags.bindAddress,
    etcdServers: flags.etcdServers,
    storePort: flags.storePort,
    serviceClusterIpRange: flags.serviceClusterIpRange,
    serviceNodePortRange: flags.serviceNodePortRange,
    ...(flags.clusterCIDR !== undefined ? { clusterCIDR: flags.clusterCIDR } : {}),
    controllers: flags.disableControllers !== true,
    scheduler: flags.disableScheduler !== true,
    ...(flags.nodeMonitorGracePeriodMs !== undefined
      ? { nodeMonitorGracePeriodMs: flags.nodeMonitorGracePeriodMs }
      : {}),
    ...(flags.nodeMonitorPeriodMs !== undefined ? { nodeMonitorPeriodMs: flags.nodeMonitorPeriodMs } : {}),
    log,
  });
  console.log(`kite apiserver ready at ${stack.server.url} (kubeconfig: ${stack.server.kubeconfigPath})`);
  const { done, fail } = runUntilSignal(() => stack.stop(), log);
  if (stack.embedded)
    stack.embedded.store.onFatal = (err) => fail(`store failed: ${(err as Error).message ?? String(err)}`);
  return done;
}

export const serverCommand: Command = {
  name: "server",
  summary: "Run the Kubernetes API server (with an embedded kite store unless --etcd-servers is given)",
  run,
};
