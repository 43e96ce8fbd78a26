// Sends one MsgSnap on a connection of its own (as etcd's snapshot sender), so a multi-megabyte
// snapshot never sits in front of heartbeats and appends on the peer's stream. The receiver
// answers with a SnapshotAck frame once it has handed the message on; only then is the send
// reported as finished. Any error, refusal or stall reports a failure.
import { connect, type Socket } from "node:net";
import type { Message, NodeId } from "../../raft/types.js";
import type { PeerAddress } from "./address.js";
import { encodeMessageWithPrefix } from "./codec.js";
import type { TransportContext } from "./types.js";
import {
  ACK_SIZE,
  ByteQueue,
  Channel,
  decodeAck,
  describeStatus,
  encodeHello,
  FRAME_HEADER_SIZE,
  FrameKind,
  HelloStatus,
  PROTOCOL_VERSION,
  sealFrame,
} from "./wire.js";

export class SnapshotSend {
  private socket: Socket | undefined;
  private done = false;

  /** onDone is called exactly once unless cancel() comes first. */
  constructor(
    private readonly ctx: TransportContext,
    readonly peerId: NodeId,
    address: PeerAddress,
    m: Message,
    private readonly onDone: (send: SnapshotSend, ok: boolean, bytes: number, reason: string) => void,
  ) {
    let frame: Buffer;
    try {
      frame = sealFrame(encodeMessageWithPrefix(m, FRAME_HEADER_SIZE), FrameKind.Message);
    } catch (err) {
      setImmediate(() =>
        this.finish(false, 0, `cannot encode the snapshot message: ${(err as Error).message}`),
      );
      return;
    }
    this.start(address, frame);
  }

  cancel(): void {
    this.done = true;
    this.socket?.destroy();
  }

  private start(address: PeerAddress, frame: Buffer): void {
    const socket = connect({ host: address.host, port: address.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(this.ctx.settings.snapshotIdleTimeoutMs);
    const inbox = new ByteQueue(64);
    let acked = false;
    let failure = "connection closed before the snapshot was acknowledged";
    const fail = (reason: string) => {
      failure = reason;
      socket.destroy();
    };
    socket.on("connect", () => {
      socket.write(
        encodeHello({
          version: PROTOCOL_VERSION,
          channel: Channel.Snapshot,
          clusterId: this.ctx.clusterId,
          from: this.ctx.memberId,
          to: this.peerId,
        }),
      );
    });
    socket.on("timeout", () => fail(`no progress for ${this.ctx.settings.snapshotIdleTimeoutMs} ms`));
    socket.on("data", (chunk: Buffer) => {
      inbox.push(chunk);
      try {
        if (!acked) {
          const bytes = inbox.take(ACK_SIZE);
          if (!bytes) return;
          const ack = decodeAck(bytes);
          if (ack.status !== HelloStatus.Ok)
            return fail(`refused by the peer: ${describeStatus(ack.status)}`);
          acked = true;
          socket.write(frame);
        }
        const reply = inbox.nextFrame();
        if (!reply) return;
        if (reply.kind !== FrameKind.SnapshotAck || reply.payload.length !== 1) {
          return fail(`unexpected reply frame kind ${reply.kind}`);
        }
        if (reply.payload[0] !== 1) return fail("the peer dropped the snapshot");
        this.finish(true, frame.length, "");
        socket.end();
      } catch (err) {
        fail(`protocol error: ${(err as Error).message}`);
      }
    });
    socket.on("error", (err) => {
      failure = err.message;
    });
    socket.on("close", () => this.finish(false, 0, failure));
  }

  private finish(ok: boolean, bytes: number, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.onDone(this, ok, bytes, reason);
  }
}
