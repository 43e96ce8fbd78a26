// The flags of `kite up` and its usage text, kubectl-style.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { walkFlags } from "../flags.js";

export const SERVICE_CIDR = "127.96.0.0/16";
export const CLUSTER_CIDR = "127.244.0.0/16";
const MAX_NODES = 254;

export const UP_USAGE = `Start a whole kite cluster on this machine: store, apiserver, controller-manager, scheduler,
N nodes (kubelet with the process runtime, kube-proxy) and cluster DNS, in one process.
Containers run as host processes, so no root is needed. Ctrl-C stops everything.

Examples:
  # A one-node cluster with its state in ~/.kite
  kite up

  # Three nodes, state elsewhere
  kite up --nodes 3 --data-dir /tmp/kite

Usage:
  kite up [flags]

Flags:
      --data-dir string   Directory for the store, certificates, kubeconfig, node state and logs (default ~/.kite)
      --nodes int         Number of nodes, kite-node-1..N on 127.1.0.1..N (default 1)
      --port int          HTTPS port of the apiserver on 127.0.0.1 (default 6443; 0 picks a free one)
      --dns-port int      Port of the cluster DNS on 127.96.0.10 (default 53, or 1053 if 53 cannot be bound)
      --store-port int    Port of the embedded store's etcd API on 127.0.0.1 (default 2379, or a free one if taken)
  -v, --verbose           Also print component logs (always written to <data-dir>/kite.log)
  -h, --help              Help for up`;

export interface UpFlags {
  dataDir: string;
  nodes: number;
  port: number;
  dnsPort?: number;
  storePort?: number;
  verbose: boolean;
  help: boolean;
}

export class UpFlagError extends Error {}

function parseInteger(flag: string, value: string, min: number, max: number, want: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new UpFlagError(`invalid argument "${value}" for "${flag}": want ${want}`);
  return n;
}

function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

export function parseUpFlags(args: string[]): UpFlags {
  const flags: UpFlags = {
    dataDir: join(homedir(), ".kite"),
    nodes: 1,
    port: 6443,
    verbose: false,
    help: false,
  };
  for (const { name, arg, value } of walkFlags(args, (m) => new UpFlagError(m))) {
    if (arg === "-h" || arg === "--help") {
      flags.help = true;
      continue;
    }
    if (arg === "-v" || arg === "--verbose") {
      flags.verbose = true;
      continue;
    }
    switch (name) {
      case "--data-dir": {
        const dir = value();
        if (dir === "") throw new UpFlagError('invalid argument "" for "--data-dir": want a directory');
        flags.dataDir = expandHome(dir);
        break;
      }
      case "--nodes":
        flags.nodes = parseInteger(name, value(), 1, MAX_NODES, `a node count 1-${MAX_NODES}`);
        break;
      case "--port":
        flags.port = parseInteger(name, value(), 0, 65535, "a port 0-65535");
        break;
      case "--dns-port":
        flags.dnsPort = parseInteger(name, value(), 0, 65535, "a port 0-65535");
        break;
      case "--store-port":
        flags.storePort = parseInteger(name, value(), 0, 65535, "a port 0-65535");
        break;
      default:
        if (!arg.startsWith("-"))
          throw new UpFlagError(`unexpected argument "${arg}": kite up takes only flags`);
        throw new UpFlagError(`unknown flag: ${name}`);
    }
  }
  flags.dataDir = resolve(flags.dataDir);
  return flags;
}
