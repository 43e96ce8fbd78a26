// PeerTransport: the Raft message transport between members over plain TCP. One listener on
// the member's peer URL; per peer one outbound stream (batched, pipelined, bounded queue,
// reconnect with backoff) plus a fresh connection per snapshot. Connections are one-way for
// messages: a member receives on the streams its peers dial, and sends on the streams it dials.
// Driver callbacks (onUnreachable, onSnapshotStatus, onPeerLost) are deferred to a later turn
// of the event loop, so they never re-enter the driver in the middle of its send() call.
import { createServer, type Server, type Socket } from "node:net";
import { type Message, MessageType, type NodeId } from "../../raft/types.js";
import { type PeerAddress, parsePeerUrl } from "./address.js";
import { TransportFaults } from "./faults.js";
import { InboundConnection } from "./inbound.js";
import { TransportMetrics } from "./metrics.js";
import { PeerStream } from "./outbound.js";
import { type PeerReply, PeerRequestError, peerRequest } from "./request.js";
import { SnapshotSend } from "./snapshot.js";
import {
  consoleTransportLogger,
  emptyStats,
  type PeerStatus,
  type PeerTransportOptions,
  resolveSettings,
  type TransportContext,
  type TransportStats,
} from "./types.js";
import { Channel, checkClusterId } from "./wire.js";

function hex(id: NodeId): string {
  return `0x${id.toString(16)}`;
}

export class PeerTransport {
  /** Fault injection: cut/heal/delay links as this member sees them. */
  readonly faults = new TransportFaults();
  private readonly ctx: TransportContext;
  private readonly listenAddress: PeerAddress;
  private readonly peers = new Map<NodeId, { url: string; address: PeerAddress; stream: PeerStream }>();
  private readonly snapshots = new Set<SnapshotSend>();
  private readonly inbound = new Set<InboundConnection>();
  private readonly inboundStreams = new Map<NodeId, InboundConnection>();
  private readonly delayTimers = new Set<NodeJS.Timeout>();
  private readonly pendingCallbacks = new Set<NodeJS.Immediate>();
  private readonly unknownTargetsLogged = new Set<NodeId>();
  private server: Server | undefined;
  private state: "new" | "started" | "stopped" = "new";

  constructor(private readonly options: PeerTransportOptions) {
    checkClusterId(options.clusterId);
    if (!Number.isSafeInteger(options.memberId) || options.memberId <= 0) {
      throw new Error(`member id ${options.memberId} must be a positive safe integer`);
    }
    this.listenAddress = parsePeerUrl(options.listenUrl);
    const metrics = options.metrics ? new TransportMetrics(options.metrics, options.memberId) : undefined;
    const stats = emptyStats();
    this.ctx = {
      clusterId: options.clusterId,
      memberId: options.memberId,
      settings: resolveSettings(options),
      logger: options.logger ?? consoleTransportLogger,
      metrics,
      stats,
      faults: this.faults,
      streamDropped: (peer, count) => {
        stats.messagesDropped += count;
        metrics?.sendFailed(peer, count);
        this.later(() => this.options.onUnreachable(peer));
      },
      streamLost: (peer) => this.later(() => this.options.onPeerLost?.(peer)),
      knowsPeer: (id) => this.peers.has(id),
      handleRequest: options.onRequest,
      deliver: (m) => {
        if (this.state === "stopped") return;
        try {
          this.options.onMessage(m);
        } catch (err) {
          this.ctx.logger.warn(
            `peer transport: onMessage threw on ${m.type} from ${hex(m.from)}: ${(err as Error).stack}`,
          );
        }
      },
    };
  }

  /** Starts listening on listenUrl; port is the bound port (useful with port 0). */
  async start(): Promise<{ port: number }> {
    if (this.state !== "new") throw new Error(`peer transport cannot start: it is ${this.state}`);
    this.state = "started";
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.listenAddress.port, this.listenAddress.host, () => {
        server.off("error", reject);
        resolve();
      });
    }).catch((err: Error) => {
      this.state = "stopped";
      throw new Error(`peer transport cannot listen on ${this.options.listenUrl}: ${err.message}`);
    });
    server.on("error", (err) => this.ctx.logger.warn(`peer listener error: ${err.message}`));
    const bound = server.address();
    return { port: typeof bound === "object" && bound ? bound.port : this.listenAddress.port };
  }

  /** Starts dialing peer id at url (http://host:port) and accepts its connections. */
  addPeer(id: NodeId, url: string): void {
    if (this.state === "stopped") return;
    if (id === this.ctx.memberId) throw new Error(`cannot add this member (${hex(id)}) as its own peer`);
    if (this.peers.has(id))
      throw new Error(`peer ${hex(id)} is already added; use updatePeer to change its url`);
    const address = parsePeerUrl(url);
    this.peers.set(id, { url, address, stream: new PeerStream(this.ctx, id, url, address) });
  }

  updatePeer(id: NodeId, url: string): void {
    const peer = this.peers.get(id);
    if (!peer) throw new Error(`peer ${hex(id)} is not known; use addPeer`);
    if (url === peer.url) return;
    peer.address = parsePeerUrl(url);
    peer.url = url;
    peer.stream.redirect(url, peer.address);
  }

  /** Stops talking to id in both directions; queued messages to it are discarded. */
  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    peer.stream.close();
    this.ctx.metrics?.forget(id);
    for (const conn of this.inbound) if (conn.peer === id) conn.close();
  }

  hasPeer(id: NodeId): boolean {
    return this.peers.has(id);
  }

  /**
   * Queues messages for their peers (m.to) and starts writing. Never throws and never blocks:
   * a message that cannot be sent is dropped and the peer reported through onUnreachable
   * (a MsgSnap through onSnapshotStatus(id, false) as well).
   */
  send(messages: readonly Message[]): void {
    this.dispatch(messages, true);
  }

  private dispatch(messages: readonly Message[], applyDelay: boolean): void {
    if (this.state === "stopped") return;
    const touched = new Set<PeerStream>();
    const unreachable = new Set<NodeId>();
    for (const m of messages) {
      if (this.faults.isCut(m.to)) {
        this.ctx.stats.messagesCut++;
        if (m.type === MessageType.Snap) this.snapshotDone(m.to, false);
        continue;
      }
      const delay = applyDelay ? this.faults.delayOf(m.to) : 0;
      if (delay > 0) {
        const timer = setTimeout(() => {
          this.delayTimers.delete(timer);
          this.dispatch([m], false);
        }, delay);
        this.delayTimers.add(timer);
        continue;
      }
      this.route(m, touched, unreachable);
    }
    for (const stream of touched) stream.flush();
    for (const id of unreachable) this.later(() => this.options.onUnreachable(id));
  }

  private route(m: Message, touched: Set<PeerStream>, unreachable: Set<NodeId>): void {
    const peer = this.peers.get(m.to);
    const { stats, metrics, logger } = this.ctx;
    if (!peer) {
      stats.messagesDropped++;
      if (!this.unknownTargetsLogged.has(m.to)) {
        this.unknownTargetsLogged.add(m.to);
        logger.warn(`peer transport: dropping ${m.type} to unknown member ${hex(m.to)}`);
      }
      if (m.type === MessageType.Snap) this.snapshotDone(m.to, false);
      return;
    }
    if (m.type === MessageType.Snap) {
      const send = new SnapshotSend(this.ctx, m.to, peer.address, m, (s, ok, bytes, reason) => {
        this.snapshots.delete(s);
        if (ok) {
          stats.messagesSent++;
          stats.bytesSent += bytes;
          metrics?.sent(m.to, bytes);
        } else {
          logger.warn(`peer transport: snapshot to ${hex(m.to)} failed: ${reason}`);
        }
        this.snapshotDone(m.to, ok);
      });
      this.snapshots.add(send);
      return;
    }
    let queued: boolean;
    try {
      queued = peer.stream.enqueue(m);
    } catch (err) {
      stats.messagesDropped++;
      logger.warn(`peer transport: cannot encode ${m.type} to ${hex(m.to)}: ${(err as Error).message}`);
      return;
    }
    if (queued) {
      touched.add(peer.stream);
    } else {
      stats.messagesDropped++;
      metrics?.sendFailed(m.to);
      unreachable.add(m.to);
    }
  }

  private snapshotDone(id: NodeId, ok: boolean): void {
    if (ok) this.ctx.stats.snapshotsSent++;
    else this.ctx.stats.snapshotsFailed++;
    this.ctx.metrics?.snapshotSent(id, ok);
    this.later(() => {
      this.options.onSnapshotStatus(id, ok);
      if (!ok) this.options.onUnreachable(id);
    });
  }

  /**
   * Calls method on peer `to` (request.ts) and resolves with its reply body. A cut link fails
   * the call at once, as it would drop a message.
   */
  async request(to: NodeId, method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const peer = this.peers.get(to);
    if (this.state !== "started") throw new PeerRequestError(`peer transport is ${this.state}`);
    if (!peer) throw new PeerRequestError(`${method}: member ${hex(to)} is not a known peer`);
    if (this.faults.isCut(to)) {
      this.ctx.stats.messagesCut++;
      throw new PeerRequestError(`${method}: the link to member ${hex(to)} is cut`);
    }
    const reply: PeerReply = await peerRequest({
      url: peer.url,
      clusterId: this.ctx.clusterId,
      from: this.ctx.memberId,
      to,
      method,
      body,
      timeoutMs,
    });
    return reply.body;
  }

  /** Applies a fault spec such as "cut:2,3" or "heal" (see faults.ts); throws FaultSpecError when invalid. */
  applyFaultSpec(spec: string): void {
    this.faults.applyFaultSpec(spec);
  }

  stats(): TransportStats {
    return { ...this.ctx.stats };
  }

  peerStatus(): PeerStatus[] {
    return [...this.peers.values()].map((p) => p.stream.status());
  }

  /** Closes the listener and every connection and timer; no callback fires afterwards. */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    for (const timer of this.delayTimers) clearTimeout(timer);
    this.delayTimers.clear();
    for (const immediate of this.pendingCallbacks) clearImmediate(immediate);
    this.pendingCallbacks.clear();
    for (const { stream } of this.peers.values()) stream.close();
    this.peers.clear();
    for (const send of this.snapshots) send.cancel();
    this.snapshots.clear();
    for (const conn of this.inbound) conn.close();
    const server = this.server;
    this.server = undefined;
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.state !== "started") {
      socket.destroy();
      return;
    }
    const conn = new InboundConnection(
      this.ctx,
      socket,
      (accepted) => {
        if (accepted.channel !== Channel.Stream || accepted.peer === undefined) return;
        const previous = this.inboundStreams.get(accepted.peer);
        this.inboundStreams.set(accepted.peer, accepted);
        previous?.close();
      },
      (closed) => {
        this.inbound.delete(closed);
        if (closed.peer !== undefined && this.inboundStreams.get(closed.peer) === closed) {
          this.inboundStreams.delete(closed.peer);
        }
      },
    );
    this.inbound.add(conn);
  }

  /** Runs a driver callback on a later turn, unless the transport has stopped by then. */
  private later(fn: () => void): void {
    const immediate = setImmediate(() => {
      this.pendingCallbacks.delete(immediate);
      if (this.state !== "stopped") fn();
    });
    this.pendingCallbacks.add(immediate);
  }
}
