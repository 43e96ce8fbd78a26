// The store server's settings with etcd's meaning and kite's defaults. Times are in ms and
// mapped onto Raft ticks: tickMs is the Raft tick, heartbeat and election timeouts become
// whole numbers of ticks (the election timeout is then randomized in [E, 2E) by Raft).
import type { Config, Message, NodeId, Storage } from "../../raft/types.js";
import type { PeerTransportOptions } from "../transport/index.js";

export const ETCD_VERSION = "3.4.23";

export const DEFAULTS = {
  name: "default",
  tickMs: 10,
  heartbeatMs: 50,
  electionMs: 150,
  // etcd 3.4's default. Each snapshot encodes the whole MVCC history on the event loop (about
  // 2.7 ms per 1,000 revisions on the CI machine), so at 10,000 an apiserver under load stalled
  // every few seconds for tens to hundreds of ms.
  snapshotCount: 100_000,
  snapshotCatchUpEntries: 5000,
  quotaBackendBytes: 2 * 1024 * 1024 * 1024,
  maxRequestBytes: 1.5 * 1024 * 1024,
  maxTxnOps: 128,
  initialClusterToken: "etcd-cluster",
  watchProgressNotifyIntervalMs: 10 * 60 * 1000,
} as const;

/** One member of the initial cluster (etcd --initial-cluster name=url,...). */
export interface InitialMember {
  name: string;
  peerURLs: string[];
}

/** Carries Raft messages to other members; a single-member server needs none. */
export interface Transport {
  send(messages: Message[]): void;
}

export interface StoreServerOptions {
  /** Member name (etcd --name). Default "default". */
  name?: string;
  /** Holds member/wal and member/snap, as etcd's data dir. */
  dataDir: string;
  tickMs?: number;
  /** etcd --heartbeat-interval, ms. */
  heartbeatMs?: number;
  /** etcd --election-timeout, ms. */
  electionMs?: number;
  /** Applied entries between state-machine snapshots (etcd --snapshot-count). */
  snapshotCount?: number;
  /** Log entries kept behind a snapshot for slow followers. */
  snapshotCatchUpEntries?: number;
  /** NOSPACE alarm threshold (etcd --quota-backend-bytes); <= 0 disables the quota. */
  quotaBackendBytes?: number;
  /** etcd --max-request-bytes. */
  maxRequestBytes?: number;
  /** etcd --max-txn-ops. */
  maxTxnOps?: number;
  /** Default: this member alone, at http://localhost:2380. */
  initialCluster?: InitialMember[];
  initialClusterToken?: string;
  /** URLs reported by memberList for this member. */
  advertiseClientUrls?: string[];
  /** How long a proposal may wait for its result. Default 5 s + 2 election timeouts (etcd). */
  requestTimeoutMs?: number;
  /** etcd --experimental-watch-progress-notify-interval, ms. */
  watchProgressNotifyIntervalMs?: number;
  /** Monotonic clock in ms (lease expiry, timeouts). Default performance.now. */
  now?: () => number;
  /** Randomness for election timeouts. Default Math.random. */
  random?: () => number;
  transport?: Transport;
  /**
   * etcd --listen-peer-urls: when set, the server runs a peer transport there (the first URL)
   * and can form and change a multi-member cluster.
   */
  listenPeerUrls?: string[];
  /** etcd --initial-cluster-state: "existing" joins a running cluster (member added before). */
  initialClusterState?: "new" | "existing";
  /** Peer transport tuning (reconnect backoff, timeouts); tests shorten them. */
  peerTuning?: PeerTuning;
  /** Operational messages (start-up, snapshots, errors). Default: console.error. */
  log?: (message: string) => void;
}

export interface ResolvedOptions {
  name: string;
  dataDir: string;
  tickMs: number;
  heartbeatTick: number;
  electionTick: number;
  electionMs: number;
  snapshotCount: number;
  snapshotCatchUpEntries: number;
  quotaBackendBytes: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  /** etcd: ceil(1.5 x election timeout), in whole seconds. */
  minLeaseTtl: number;
  initialCluster: InitialMember[];
  initialClusterToken: string;
  advertiseClientUrls: string[];
  requestTimeoutMs: number;
  watchProgressNotifyIntervalMs: number;
  now: () => number;
  random: () => number;
  transport: Transport | undefined;
  listenPeerUrls: string[];
  initialClusterState: "new" | "existing";
  peerTuning: PeerTuning;
  log: (message: string) => void;
}

/** The peer transport settings a server may tune (see PeerTransportOptions). */
export type PeerTuning = Pick<
  PeerTransportOptions,
  "reconnectInitialMs" | "reconnectMaxMs" | "handshakeTimeoutMs" | "pingIntervalMs" | "snapshotIdleTimeoutMs"
>;

function positiveInt(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${what} must be a positive integer, got ${value}`);
  return v;
}

function initialClusterState(state: string | undefined): "new" | "existing" {
  if (state === undefined || state === "new" || state === "existing") return state ?? "new";
  throw new Error(`--initial-cluster-state must be "new" or "existing", got "${state}"`);
}

export function resolveOptions(o: StoreServerOptions): ResolvedOptions {
  if (!o.dataDir) throw new Error("dataDir is required");
  const name = o.name ?? DEFAULTS.name;
  const tickMs = positiveInt(o.tickMs, DEFAULTS.tickMs, "tick interval (ms)");
  const heartbeatMs = positiveInt(o.heartbeatMs, DEFAULTS.heartbeatMs, "--heartbeat-interval");
  const electionMs = positiveInt(o.electionMs, DEFAULTS.electionMs, "--election-timeout");
  // etcd insists on 5x; kite's defaults (50/150 ms) are 3x, so only Raft's own rule applies.
  if (electionMs <= heartbeatMs) {
    throw new Error(
      `--election-timeout[${electionMs}ms] should be greater than --heartbeat-interval[${heartbeatMs}ms]`,
    );
  }
  const heartbeatTick = Math.max(1, Math.round(heartbeatMs / tickMs));
  const electionTick = Math.max(heartbeatTick + 1, Math.round(electionMs / tickMs));
  const initialCluster = o.initialCluster ?? [{ name, peerURLs: ["http://localhost:2380"] }];
  if (!initialCluster.some((m) => m.name === name)) {
    throw new Error(`couldn't find local name "${name}" in the initial cluster configuration`);
  }
  return {
    name,
    dataDir: o.dataDir,
    tickMs,
    heartbeatTick,
    electionTick,
    electionMs,
    snapshotCount: positiveInt(o.snapshotCount, DEFAULTS.snapshotCount, "--snapshot-count"),
    snapshotCatchUpEntries: positiveInt(
      o.snapshotCatchUpEntries,
      DEFAULTS.snapshotCatchUpEntries,
      "snapshot catch-up entries",
    ),
    quotaBackendBytes: o.quotaBackendBytes ?? DEFAULTS.quotaBackendBytes,
    maxRequestBytes: positiveInt(o.maxRequestBytes, DEFAULTS.maxRequestBytes, "--max-request-bytes"),
    maxTxnOps: positiveInt(o.maxTxnOps, DEFAULTS.maxTxnOps, "--max-txn-ops"),
    minLeaseTtl: Math.ceil((1.5 * electionMs) / 1000),
    initialCluster,
    initialClusterToken: o.initialClusterToken ?? DEFAULTS.initialClusterToken,
    advertiseClientUrls: o.advertiseClientUrls ?? ["http://localhost:2379"],
    requestTimeoutMs: positiveInt(o.requestTimeoutMs, 5000 + 2 * electionMs, "request timeout (ms)"),
    watchProgressNotifyIntervalMs: positiveInt(
      o.watchProgressNotifyIntervalMs,
      DEFAULTS.watchProgressNotifyIntervalMs,
      "--experimental-watch-progress-notify-interval",
    ),
    now: o.now ?? (() => performance.now()),
    random: o.random ?? Math.random,
    transport: o.transport,
    listenPeerUrls: o.listenPeerUrls ?? [],
    initialClusterState: initialClusterState(o.initialClusterState),
    peerTuning: o.peerTuning ?? {},
    log: o.log ?? ((message) => console.error(message)),
  };
}

/** The Raft settings of a member: etcd's (CheckQuorum on, 1 MiB appends, 512 in flight) plus PreVote. */
export function raftConfig(opts: ResolvedOptions, id: NodeId, storage: Storage, applied: number): Config {
  return {
    id,
    electionTick: opts.electionTick,
    heartbeatTick: opts.heartbeatTick,
    storage,
    applied,
    checkQuorum: true,
    preVote: true,
    random: opts.random,
    maxSizePerMsg: 1024 * 1024,
    maxInflightMsgs: 512,
  };
}
