// `kite store` flags, named and defaulted as etcd's (both `--flag value` and `--flag=value`).
// Parsing is separate from the command so it can be tested without starting anything.
import { DEFAULTS, type InitialMember, type StoreServerOptions } from "./config.js";

export class StoreFlagError extends Error {
  override name = "StoreFlagError";
}

export interface StoreFlags {
  help: boolean;
  server: StoreServerOptions;
  listenClientUrls: URL[];
  listenPeerUrls: URL[];
  initialClusterState: "new" | "existing";
  logLevel: "debug" | "info" | "warn" | "error";
}

interface FlagSpec {
  value: string;
  help: string;
}

const FLAGS: Record<string, FlagSpec> = {
  name: { value: "name", help: `Human-readable name for this member (default "${DEFAULTS.name}")` },
  "data-dir": { value: "path", help: 'Path to the data directory (default "<name>.etcd")' },
  "listen-client-urls": {
    value: "urls",
    help: "URLs to serve the etcd v3 API on (default http://localhost:2379)",
  },
  "advertise-client-urls": { value: "urls", help: "Client URLs to advertise to the cluster" },
  "listen-peer-urls": {
    value: "urls",
    help: "URLs to listen on for peer traffic (default http://localhost:2380)",
  },
  "initial-advertise-peer-urls": { value: "urls", help: "This member's peer URLs to advertise" },
  "initial-cluster": { value: "name=url,...", help: "Initial cluster configuration for bootstrapping" },
  "initial-cluster-state": { value: "new|existing", help: 'Initial cluster state (default "new")' },
  "initial-cluster-token": {
    value: "token",
    help: `Initial cluster token (default "${DEFAULTS.initialClusterToken}")`,
  },
  "heartbeat-interval": {
    value: "ms",
    help: `Time (in ms) of a heartbeat interval (default ${DEFAULTS.heartbeatMs})`,
  },
  "election-timeout": {
    value: "ms",
    help: `Time (in ms) for an election to timeout (default ${DEFAULTS.electionMs})`,
  },
  "snapshot-count": {
    value: "n",
    help: `Committed transactions to trigger a snapshot (default ${DEFAULTS.snapshotCount})`,
  },
  "quota-backend-bytes": {
    value: "bytes",
    help: "Raise alarms when the store exceeds this size (default 2 GiB)",
  },
  "max-request-bytes": { value: "bytes", help: "Maximum client request size in bytes (default 1.5 MiB)" },
  "max-txn-ops": { value: "n", help: `Maximum operations per transaction (default ${DEFAULTS.maxTxnOps})` },
  "experimental-watch-progress-notify-interval": {
    value: "duration",
    help: "Duration of periodic watch progress notifications, e.g. 10m, 5s, 500ms (default 10m)",
  },
  "log-level": { value: "level", help: 'debug, info, warn or error (default "info")' },
};

export const STORE_USAGE = [
  "Usage: kite store [flags]",
  "",
  "Runs an etcd-compatible store member (etcd v3 gRPC API on the client URLs).",
  "",
  "Flags:",
  ...Object.entries(FLAGS).map(([name, spec]) => `  --${`${name} ${spec.value}`.padEnd(52)} ${spec.help}`),
  `  ${"--help".padEnd(54)} Show this help`,
].join("\n");

function urls(flag: string, value: string): URL[] {
  const out: URL[] = [];
  for (const part of value.split(",")) {
    const text = part.trim();
    if (text === "") continue;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new StoreFlagError(`invalid URL "${text}" in --${flag}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:" && url.protocol !== "unix:") {
      throw new StoreFlagError(`URL scheme must be http, https or unix in --${flag}: ${text}`);
    }
    out.push(url);
  }
  if (out.length === 0) throw new StoreFlagError(`--${flag} needs at least one URL`);
  return out;
}

function integer(flag: string, value: string, min: number): number {
  if (!/^-?\d+$/.test(value.trim())) throw new StoreFlagError(`--${flag} must be an integer, got "${value}"`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new StoreFlagError(`--${flag} must be an integer >= ${min}, got ${value}`);
  return n;
}

/** Go-style durations as etcd takes them: 10m, 5s, 1m30s, 500ms. */
function duration(flag: string, value: string): number {
  const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value) {
    throw new StoreFlagError(`--${flag} must be a duration like 10m, 5s or 500ms, got "${value}"`);
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * unitMs[p[2]!]!, 0);
  if (ms <= 0) throw new StoreFlagError(`--${flag} must be positive`);
  return Math.round(ms);
}

function initialCluster(value: string): InitialMember[] {
  const byName = new Map<string, string[]>();
  for (const part of value.split(",")) {
    const text = part.trim();
    if (text === "") continue;
    const eq = text.indexOf("=");
    if (eq <= 0) throw new StoreFlagError(`--initial-cluster entries must be name=url, got "${text}"`);
    const name = text.slice(0, eq);
    const url = urls("initial-cluster", text.slice(eq + 1))[0]!
      .toString()
      .replace(/\/$/, "");
    byName.set(name, [...(byName.get(name) ?? []), url]);
  }
  if (byName.size === 0) throw new StoreFlagError("--initial-cluster is empty");
  return [...byName].map(([name, peerURLs]) => ({ name, peerURLs }));
}

function readArgs(args: string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      values.set("help", "true");
      continue;
    }
    if (!arg.startsWith("-")) throw new StoreFlagError(`unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (!(name in FLAGS)) throw new StoreFlagError(`unknown flag: --${name}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      const next = args[i + 1];
      if (next === undefined) throw new StoreFlagError(`flag needs an argument: --${name}`);
      value = next;
      i++;
    }
    values.set(name, value);
  }
  return values;
}

export function parseStoreFlags(args: string[]): StoreFlags {
  const v = readArgs(args);
  const name = v.get("name") ?? DEFAULTS.name;
  const listenClientUrls = urls("listen-client-urls", v.get("listen-client-urls") ?? "http://localhost:2379");
  const listenPeerUrls = urls("listen-peer-urls", v.get("listen-peer-urls") ?? "http://localhost:2380");
  const advertisePeer = v.has("initial-advertise-peer-urls")
    ? urls("initial-advertise-peer-urls", v.get("initial-advertise-peer-urls")!)
    : listenPeerUrls;
  const cluster = v.has("initial-cluster")
    ? initialCluster(v.get("initial-cluster")!)
    : [{ name, peerURLs: advertisePeer.map((u) => u.toString().replace(/\/$/, "")) }];
  if (!cluster.some((m) => m.name === name)) {
    throw new StoreFlagError(`couldn't find local name "${name}" in the initial cluster configuration`);
  }
  const state = v.get("initial-cluster-state") ?? "new";
  if (state !== "new" && state !== "existing") {
    throw new StoreFlagError(`--initial-cluster-state must be "new" or "existing", got "${state}"`);
  }
  const logLevel = v.get("log-level") ?? "info";
  if (logLevel !== "debug" && logLevel !== "info" && logLevel !== "warn" && logLevel !== "error") {
    throw new StoreFlagError(`--log-level must be debug, info, warn or error, got "${logLevel}"`);
  }
  const server: StoreServerOptions = {
    name,
    dataDir: v.get("data-dir") ?? `${name}.etcd`,
    initialCluster: cluster,
    initialClusterState: state,
    advertiseClientUrls: (v.has("advertise-client-urls")
      ? urls("advertise-client-urls", v.get("advertise-client-urls")!)
      : listenClientUrls
    ).map((u) => u.toString().replace(/\/$/, "")),
  };
  const numeric: Array<[string, keyof StoreServerOptions, number]> = [
    ["heartbeat-interval", "heartbeatMs", 1],
    ["election-timeout", "electionMs", 1],
    ["snapshot-count", "snapshotCount", 1],
    ["quota-backend-bytes", "quotaBackendBytes", Number.MIN_SAFE_INTEGER],
    ["max-request-bytes", "maxRequestBytes", 1],
    ["max-txn-ops", "maxTxnOps", 1],
  ];
  for (const [flag, key, min] of numeric) {
    const raw = v.get(flag);
    if (raw !== undefined) (server as unknown as Record<string, number>)[key] = integer(flag, raw, min);
  }
  // Unlike etcd, a lone member listens for peers only when asked to (so several single-member
  // stores can run side by side on the default flags); a cluster always does.
  if (v.has("listen-peer-urls") || cluster.length > 1 || state === "existing") {
    server.listenPeerUrls = listenPeerUrls.map((u) => u.toString().replace(/\/$/, ""));
  }
  // etcd: 0 means the default quota, a negative value disables it.
  if (server.quotaBackendBytes === 0) delete server.quotaBackendBytes;
  if (v.has("initial-cluster-token")) server.initialClusterToken = v.get("initial-cluster-token")!;
  const progress = v.get("experimental-watch-progress-notify-interval");
  if (progress !== undefined) {
    server.watchProgressNotifyIntervalMs = duration("experimental-watch-progress-notify-interval", progress);
  }
  return {
    help: v.has("help"),
    server,
    listenClientUrls,
    listenPeerUrls,
    initialClusterState: state,
    logLevel,
  };
}
