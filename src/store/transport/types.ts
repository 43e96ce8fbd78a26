// Options, statistics and the internal context the transport's parts share: outbound streams,
// snapshot senders and inbound connections all report through one TransportContext.
import type { Registry } from "prom-client";
import type { Message, NodeId } from "../../raft/types.js";
import type { TransportFaults } from "./faults.js";
import type { TransportMetrics } from "./metrics.js";
import type { PeerRequestHandler } from "./request.js";

export interface TransportLogger {
  info(message: string): void;
  warn(message: string): void;
}

export const consoleTransportLogger: TransportLogger = {
  info: () => {},
  warn: (message) => console.warn(message),
};

export interface PeerTransportOptions {
  /** Both ends of every connection must agree on it; a mismatch is refused and logged. */
  clusterId: bigint;
  memberId: NodeId;
  /** Where to listen, in etcd's --listen-peer-urls form: http://host:port (port 0 picks a free one). */
  listenUrl: string;
  /** Called synchronously, in order per peer, for every message received. */
  onMessage: (m: Message) => void;
  /** A peer could not be reached: messages to it were dropped (raft: reportUnreachable). */
  onUnreachable: (id: NodeId) => void;
  /** A MsgSnap to id was delivered (ok) or failed (raft: reportSnapshot). */
  onSnapshotStatus: (id: NodeId, ok: boolean) => void;
  /**
   * The established stream to id broke: the peer closed it (its process died or restarted)
   * or stopped answering pings. A hint that id may be gone; it is redialed as usual.
   */
  onPeerLost?: (id: NodeId) => void;
  /** Serves request/response calls from other members (request.ts); without it they fail. */
  onRequest?: PeerRequestHandler;
  logger?: TransportLogger;
  /** When set, etcd_network_* metrics are registered here. */
  metrics?: Registry;
  /** Messages queued per peer beyond which new ones are dropped (etcd: 4096). */
  sendQueueLimit?: number;
  /** First reconnect delay after a failed or lost connection; doubles up to reconnectMaxMs. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** How long a dial or an accepted connection may take to complete the hello exchange. */
  handshakeTimeoutMs?: number;
  /** Interval of the round-trip probe on each stream; a stream silent for 4 intervals is redialed. 0 disables. */
  pingIntervalMs?: number;
  /** A snapshot send fails when its connection makes no progress for this long. */
  snapshotIdleTimeoutMs?: number;
  /** Largest frame accepted on a stream connection (snapshots use their own connection and limit). */
  maxStreamFrameBytes?: number;
}

export interface TransportSettings {
  sendQueueLimit: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  handshakeTimeoutMs: number;
  pingIntervalMs: number;
  snapshotIdleTimeoutMs: number;
  maxStreamFrameBytes: number;
}

export function resolveSettings(o: PeerTransportOptions): TransportSettings {
  return {
    sendQueueLimit: o.sendQueueLimit ?? 4096,
    reconnectInitialMs: o.reconnectInitialMs ?? 50,
    reconnectMaxMs: o.reconnectMaxMs ?? 1000,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? 5000,
    pingIntervalMs: o.pingIntervalMs ?? 2000,
    snapshotIdleTimeoutMs: o.snapshotIdleTimeoutMs ?? 30_000,
    maxStreamFrameBytes: o.maxStreamFrameBytes ?? 64 * 1024 * 1024,
  };
}

export interface TransportStats {
  /** Messages written to sockets (snapshots included). */
  messagesSent: number;
  /** Frame bytes written to sockets, handshakes excluded. */
  bytesSent: number;
  /** Socket writes on stream connections; messagesSent / batchesSent is the mean batch size. */
  batchesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  /** Messages dropped because a peer was unknown, unreachable, its queue full or its connection lost. */
  messagesDropped: number;
  /** Messages dropped by an injected fault (cut link), either direction. */
  messagesCut: number;
  snapshotsSent: number;
  snapshotsFailed: number;
  snapshotsReceived: number;
  /** Inbound connections refused: garbage, wrong cluster, wrong or unknown member, bad frames. */
  connectionsRejected: number;
}

export function emptyStats(): TransportStats {
  return {
    messagesSent: 0,
    bytesSent: 0,
    batchesSent: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    messagesDropped: 0,
    messagesCut: 0,
    snapshotsSent: 0,
    snapshotsFailed: 0,
    snapshotsReceived: 0,
    connectionsRejected: 0,
  };
}

export interface PeerStatus {
  id: NodeId;
  url: string;
  /** The outbound stream has completed its handshake. */
  connected: boolean;
  /** Messages waiting for the current socket write to finish. */
  queued: number;
  /** Latest probe round trip, when one has completed. */
  rttMs?: number;
}

export interface TransportContext {
  readonly clusterId: bigint;
  readonly memberId: NodeId;
  readonly settings: TransportSettings;
  readonly logger: TransportLogger;
  readonly metrics?: TransportMetrics;
  readonly stats: TransportStats;
  readonly faults: TransportFaults;
  /** A stream lost `count` queued messages to peer with its connection. */
  streamDropped(peer: NodeId, count: number): void;
  /** An established stream to peer broke. */
  streamLost(peer: NodeId): void;
  knowsPeer(id: NodeId): boolean;
  readonly handleRequest: PeerRequestHandler | undefined;
  /** Hands a received message to the driver (after fault filtering). */
  deliver(m: Message): void;
}
