// One accepted peer connection. It must open with a valid hello for this cluster and member
// from a known peer within the handshake timeout; anything else (garbage, a foreign cluster,
// a removed member) is answered if possible, logged and closed without disturbing the
// listener. A stream connection then delivers message frames in order and answers pings; a
// snapshot connection delivers its one message and acknowledges it; a request connection
// (request.ts) may come from a member not known yet, hands its one request to the server and
// writes back the response.
import type { Socket } from "node:net";
import type { NodeId } from "../../raft/types.js";
import { decodeMessage } from "./codec.js";
import { decodeRequestFrame, encodeResponseFrame, MAX_REQUEST_BYTES } from "./request.js";
import type { TransportContext } from "./types.js";
import {
  ByteQueue,
  Channel,
  controlFrame,
  decodeHello,
  describeStatus,
  encodeAck,
  FRAME_HEADER_SIZE,
  type Frame,
  FrameKind,
  HELLO_SIZE,
  type Hello,
  HelloStatus,
  PROTOCOL_VERSION,
} from "./wire.js";

const SNAPSHOT_FRAME_LIMIT = 0xffffffff;

export class InboundConnection {
  /** The peer, once the hello has been accepted. */
  peer: NodeId | undefined;
  channel: Channel | undefined;
  private readonly inbox: ByteQueue;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private requestTaken = false;

  constructor(
    private readonly ctx: TransportContext,
    private readonly socket: Socket,
    private readonly onAccepted: (conn: InboundConnection) => void,
    private readonly onClosed: (conn: InboundConnection) => void,
  ) {
    this.inbox = new ByteQueue(ctx.settings.maxStreamFrameBytes);
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(
      () => this.reject(`no hello within ${ctx.settings.handshakeTimeoutMs} ms`),
      ctx.settings.handshakeTimeoutMs,
    );
    this.handshakeTimer.unref();
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      clearTimeout(this.handshakeTimer);
      this.onClosed(this);
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  private reject(reason: string): void {
    if (this.closed) return;
    this.ctx.stats.connectionsRejected++;
    this.ctx.logger.warn(`peer listener: closing connection from ${this.remote}: ${reason}`);
    this.close();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.inbox.push(chunk);
    try {
      if (this.channel === undefined) {
        const bytes = this.inbox.take(HELLO_SIZE);
        if (!bytes) return;
        if (!this.accept(decodeHello(bytes))) return;
      }
      for (let f = this.inbox.nextFrame(); f && !this.closed; f = this.inbox.nextFrame()) this.onFrame(f);
    } catch (err) {
      if (this.peer !== undefined) this.ctx.metrics?.receiveFailed(this.peer);
      this.reject((err as Error).message);
    }
  }

  private accept(hello: Hello): boolean {
    clearTimeout(this.handshakeTimer);
    const { ctx } = this;
    let status = HelloStatus.Ok;
    // A request may come from a member that does not know the cluster or this member's id yet.
    const request = hello.channel === Channel.Request;
    if (hello.version !== PROTOCOL_VERSION) status = HelloStatus.UnsupportedVersion;
    else if (hello.clusterId !== ctx.clusterId && !(request && hello.clusterId === 0n))
      status = HelloStatus.ClusterMismatch;
    else if (hello.to !== ctx.memberId && !(request && hello.to === 0)) status = HelloStatus.WrongMember;
    else if (hello.channel !== Channel.Stream && hello.channel !== Channel.Snapshot && !request)
      status = HelloStatus.BadChannel;
    else if (!request && !ctx.knowsPeer(hello.from)) status = HelloStatus.UnknownSender;
    this.socket.write(
      encodeAck({ version: PROTOCOL_VERSION, status, clusterId: ctx.clusterId, memberId: ctx.memberId }),
    );
    if (status !== HelloStatus.Ok) {
      this.ctx.stats.connectionsRejected++;
      ctx.logger.warn(
        `peer listener: refused member 0x${hello.from.toString(16)} from ${this.remote}: ${describeStatus(status)} ` +
          `(theirs: cluster 0x${hello.clusterId.toString(16)}, target member 0x${hello.to.toString(16)}, protocol v${hello.version}; ` +
          `ours: cluster 0x${ctx.clusterId.toString(16)}, member 0x${ctx.memberId.toString(16)}, protocol v${PROTOCOL_VERSION})`,
      );
      this.closed = true;
      this.socket.end();
      return false;
    }
    this.peer = hello.from;
    this.channel = hello.channel;
    if (hello.channel === Channel.Snapshot) this.inbox.maxFrameBytes = SNAPSHOT_FRAME_LIMIT;
    if (request) this.inbox.maxFrameBytes = MAX_REQUEST_BYTES;
    this.onAccepted(this);
    return true;
  }

  private onFrame(f: Frame): void {
    const peer = this.peer as NodeId;
    if (f.kind === FrameKind.Ping && this.channel === Channel.Stream) {
      this.socket.write(controlFrame(FrameKind.Pong, f.payload));
      return;
    }
    if (f.kind === FrameKind.Request && this.channel === Channel.Request && !this.requestTaken) {
      this.serveRequest(peer, f.payload);
      return;
    }
    if (f.kind !== FrameKind.Message || this.channel === Channel.Request)
      throw new Error(`unexpected frame kind ${f.kind}`);
    const m = decodeMessage(f.payload);
    if (m.from !== peer || m.to !== this.ctx.memberId) {
      throw new Error(
        `message from 0x${m.from.toString(16)} to 0x${m.to.toString(16)} on member 0x${peer.toString(16)}'s connection`,
      );
    }
    const stats = this.ctx.stats;
    stats.bytesReceived += f.payload.length + FRAME_HEADER_SIZE;
    this.ctx.metrics?.received(peer, f.payload.length + FRAME_HEADER_SIZE);
    const cut = this.ctx.faults.isCut(peer);
    if (cut) stats.messagesCut++;
    else {
      stats.messagesReceived++;
      this.ctx.deliver(m);
    }
    if (this.channel === Channel.Snapshot) {
      if (!cut) stats.snapshotsReceived++;
      this.socket.end(controlFrame(FrameKind.SnapshotAck, Uint8Array.of(cut ? 0 : 1)));
      this.closed = true;
    }
  }

  /** Answers one request; a cut link drops it unanswered, as it would drop a message. */
  private serveRequest(from: NodeId, payload: Buffer): void {
    this.requestTaken = true;
    const { method, body } = decodeRequestFrame(payload);
    if (from !== 0 && this.ctx.faults.isCut(from)) {
      this.ctx.stats.messagesCut++;
      this.close();
      return;
    }
    const handler = this.ctx.handleRequest;
    const reply = Promise.resolve().then(() => {
      if (!handler) throw new Error("this member serves no peer requests");
      return handler(from, method, body);
    });
    reply.then(
      (out) => {
        if (!this.socket.destroyed) this.socket.end(encodeResponseFrame(true, out));
      },
      (err: unknown) => {
        if (!this.socket.destroyed)
          this.socket.end(encodeResponseFrame(false, Buffer.from(String((err as Error)?.message ?? err))));
      },
    );
  }
}
