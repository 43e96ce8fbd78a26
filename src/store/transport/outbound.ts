// One outbound stream connection to a peer: dial, hello, then pipelined message frames with no
// per-message acknowledgement. At most one socket write is outstanding; everything queued while
// it is pending goes out in the next write, so a busy stream batches by itself. The queue is
// bounded; while the peer cannot be reached (between a failed dial and the next attempt) new
// messages are refused at once so the driver hears about it (reportUnreachable) instead of
// piling stale messages up.
import { connect, type Socket } from "node:net";
import type { Message, NodeId } from "../../raft/types.js";
import type { PeerAddress } from "./address.js";
import { encodeMessageWithPrefix } from "./codec.js";
import type { PeerStatus, TransportContext } from "./types.js";
import {
  ACK_SIZE,
  ByteQueue,
  Channel,
  controlFrame,
  decodeAck,
  describeStatus,
  encodeHello,
  FRAME_HEADER_SIZE,
  FrameKind,
  HelloStatus,
  PROTOCOL_VERSION,
  sealFrame,
} from "./wire.js";

/** A socket write stops collecting queued frames beyond this many bytes (it always takes one). */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** A stream whose pings go unanswered for this many intervals is considered dead and redialed. */
const PING_TIMEOUT_INTERVALS = 4;

type StreamState = "connecting" | "active" | "backoff" | "closed";

export class PeerStream {
  private state: StreamState = "connecting";
  private socket: Socket | undefined;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private queuedMessages = 0;
  private writing = false;
  private backoffMs: number;
  private failuresInARow = 0;
  private timer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastPongAt = 0;
  private rttMs: number | undefined;

  constructor(
    private readonly ctx: TransportContext,
    readonly peerId: NodeId,
    private url: string,
    private address: PeerAddress,
  ) {
    this.backoffMs = ctx.settings.reconnectInitialMs;
    this.dial();
  }

  status(): PeerStatus {
    const s: PeerStatus = {
      id: this.peerId,
      url: this.url,
      connected: this.state === "active",
      queued: this.queuedMessages,
    };
    if (this.rttMs !== undefined) s.rttMs = this.rttMs;
    return s;
  }

  /**
   * Queues m; call flush() after a run of enqueues. Returns false, without queueing, when the
   * peer is known to be unreachable or its queue is full. Throws CodecError for a malformed message.
   */
  enqueue(m: Message): boolean {
    if (this.state === "backoff" || this.state === "closed") return false;
    if (this.queuedMessages >= this.ctx.settings.sendQueueLimit) return false;
    const frame = sealFrame(encodeMessageWithPrefix(m, FRAME_HEADER_SIZE), FrameKind.Message);
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    this.queuedMessages++;
    return true;
  }

  flush(): void {
    const socket = this.socket;
    if (this.state !== "active" || this.writing || this.queue.length === 0 || !socket) return;
    let frames = this.queue.length;
    let bytes = this.queuedBytes;
    let messages = this.queuedMessages;
    if (bytes > MAX_BATCH_BYTES) {
      bytes = 0;
      messages = 0;
      frames = 0;
      while (
        frames < this.queue.length &&
        (frames === 0 || bytes + (this.queue[frames] as Buffer).length <= MAX_BATCH_BYTES)
      ) {
        const frame = this.queue[frames] as Buffer;
        bytes += frame.length;
        if (frame[4] === FrameKind.Message) messages++;
        frames++;
      }
    }
    const taken = this.queue.splice(0, frames);
    const batch = taken.length === 1 ? (taken[0] as Buffer) : Buffer.concat(taken, bytes);
    this.queuedBytes -= bytes;
    this.queuedMessages -= messages;
    const stats = this.ctx.stats;
    stats.batchesSent++;
    stats.messagesSent += messages;
    stats.bytesSent += bytes;
    this.ctx.metrics?.sent(this.peerId, bytes);
    this.writing = true;
    socket.write(batch, (err) => {
      if (socket !== this.socket) return;
      this.writing = false;
      if (!err) this.flush();
    });
  }

  /** Points the stream at a new address and redials at once. */
  redirect(url: string, address: PeerAddress): void {
    this.url = url;
    this.address = address;
    if (this.state === "closed") return;
    this.detach("peer address changed");
    this.backoffMs = this.ctx.settings.reconnectInitialMs;
    this.dial();
  }

  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.clearTimers();
    this.socket?.destroy();
    this.socket = undefined;
    this.queue = [];
    this.queuedBytes = 0;
    this.queuedMessages = 0;
  }

  private dial(): void {
    this.state = "connecting";
    const socket = connect({ host: this.address.host, port: this.address.port });
    this.socket = socket;
    socket.setNoDelay(true);
    const inbox = new ByteQueue(64);
    let acked = false;
    let failure = "connection closed";
    this.timer = setTimeout(() => {
      failure = `no hello ack within ${this.ctx.settings.handshakeTimeoutMs} ms`;
      socket.destroy();
    }, this.ctx.settings.handshakeTimeoutMs);
    this.timer.unref();
    socket.on("connect", () => {
      socket.write(
        encodeHello({
          version: PROTOCOL_VERSION,
          channel: Channel.Stream,
          clusterId: this.ctx.clusterId,
          from: this.ctx.memberId,
          to: this.peerId,
        }),
      );
    });
    socket.on("data", (chunk: Buffer) => {
      inbox.push(chunk);
      try {
        if (!acked) {
          const bytes = inbox.take(ACK_SIZE);
          if (!bytes) return;
          const ack = decodeAck(bytes);
          if (ack.status !== HelloStatus.Ok) {
            failure = `refused by the peer: ${describeStatus(ack.status)} (its cluster id 0x${ack.clusterId.toString(16)}, member 0x${ack.memberId.toString(16)}; ours 0x${this.ctx.clusterId.toString(16)}, member 0x${this.ctx.memberId.toString(16)})`;
            socket.destroy();
            return;
          }
          acked = true;
          this.activate(socket);
        }
        for (let f = inbox.nextFrame(); f; f = inbox.nextFrame()) {
          if (f.kind === FrameKind.Pong && f.payload.length === 8) this.onPong(f.payload.readDoubleLE(0));
        }
      } catch (err) {
        failure = `protocol error: ${(err as Error).message}`;
        socket.destroy();
      }
    });
    socket.on("error", (err) => {
      failure = err.message;
    });
    socket.on("close", () => this.onClose(socket, failure));
  }

  private activate(socket: Socket): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.state = "active";
    this.backoffMs = this.ctx.settings.reconnectInitialMs;
    if (this.failuresInARow > 0)
      this.ctx.logger.info(`peer 0x${this.peerId.toString(16)}: reconnected to ${this.url}`);
    this.failuresInARow = 0;
    this.ctx.metrics?.connected(this.peerId);
    const interval = this.ctx.settings.pingIntervalMs;
    if (interval > 0) {
      this.lastPongAt = performance.now();
      this.pingTimer = setInterval(() => this.ping(socket), interval);
      this.pingTimer.unref();
    }
    this.flush();
  }

  private ping(socket: Socket): void {
    const now = performance.now();
    if (now - this.lastPongAt > PING_TIMEOUT_INTERVALS * this.ctx.settings.pingIntervalMs) {
      this.ctx.logger.warn(`peer 0x${this.peerId.toString(16)}: no answer to pings; redialing ${this.url}`);
      socket.destroy();
      return;
    }
    const payload = Buffer.allocUnsafe(8);
    payload.writeDoubleLE(now, 0);
    const frame = controlFrame(FrameKind.Ping, payload);
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    this.flush();
  }

  private onPong(sentAt: number): void {
    const now = performance.now();
    this.lastPongAt = now;
    this.rttMs = now - sentAt;
    this.ctx.metrics?.roundTrip(this.peerId, this.rttMs / 1000);
  }

  private onClose(socket: Socket, reason: string): void {
    if (socket !== this.socket || this.state === "closed") return;
    const wasActive = this.state === "active";
    this.detach(reason);
    this.failuresInARow++;
    if (wasActive) {
      this.ctx.logger.warn(`peer 0x${this.peerId.toString(16)}: lost connection to ${this.url}: ${reason}`);
      this.ctx.streamLost(this.peerId);
    } else if (this.failuresInARow === 1 || this.failuresInARow % 100 === 0) {
      this.ctx.logger.warn(
        `peer 0x${this.peerId.toString(16)}: cannot connect to ${this.url} (attempt ${this.failuresInARow}): ${reason}`,
      );
    }
    this.state = "backoff";
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dial();
    }, this.backoffMs);
    this.timer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, this.ctx.settings.reconnectMaxMs);
  }

  /** Drops the current socket and its queue, reporting the lost messages. */
  private detach(reason: string): void {
    const wasActive = this.state === "active";
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    this.writing = false;
    if (wasActive) this.ctx.metrics?.disconnected(this.peerId);
    const dropped = this.queuedMessages;
    this.queue = [];
    this.queuedBytes = 0;
    this.queuedMessages = 0;
    if (dropped > 0) {
      this.ctx.logger.info(
        `peer 0x${this.peerId.toString(16)}: dropped ${dropped} queued messages (${reason})`,
      );
      this.ctx.streamDropped(this.peerId, dropped);
    }
  }

  private clearTimers(): void {
    clearTimeout(this.timer);
    clearInterval(this.pingTimer);
    this.timer = undefined;
    this.pingTimer = undefined;
  }
}
