// Small request/response calls between members on the peer port, one connection per call
// (the server's lease renewals forwarded to the leader, a joining member asking for the
// cluster's members, promotions forwarded to the leader). The hello may leave the cluster id
// and the target member as 0 when the caller does not know them yet (a member joining an
// existing cluster); the ack then tells it both. The transport only carries opaque bodies: the
// server decides what a method means and encodes its own errors in the body.
import { connect } from "node:net";
import type { NodeId } from "../../raft/types.js";
import { parsePeerUrl } from "./address.js";
import {
  ACK_SIZE,
  ByteQueue,
  Channel,
  controlFrame,
  decodeAck,
  describeStatus,
  encodeHello,
  FrameKind,
  HelloStatus,
  PROTOCOL_VERSION,
} from "./wire.js";

/** Largest request or response body accepted. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export class PeerRequestError extends Error {
  override name = "PeerRequestError";
}

/** Serves one call: resolves with the response body, or rejects (sent back as a failure). */
export type PeerRequestHandler = (from: NodeId, method: string, body: Uint8Array) => Promise<Uint8Array>;

export interface PeerCall {
  /** The peer's URL (http://host:port). */
  url: string;
  /** 0n when unknown (joining); otherwise the listener refuses a different cluster. */
  clusterId: bigint;
  /** The caller's member id, 0 when it has none yet. */
  from: NodeId;
  /** The member expected at url, 0 for whoever listens there. */
  to: NodeId;
  method: string;
  body: Uint8Array;
  timeoutMs: number;
}

export interface PeerReply {
  /** The listener's cluster and member id, from its ack. */
  clusterId: bigint;
  memberId: NodeId;
  body: Uint8Array;
}

export function encodeRequestFrame(method: string, body: Uint8Array): Buffer {
  const name = Buffer.from(method, "utf8");
  if (name.length > 0xffff) throw new PeerRequestError("request method name too long");
  const payload = Buffer.allocUnsafe(2 + name.length + body.byteLength);
  payload.writeUInt16LE(name.length, 0);
  name.copy(payload, 2);
  payload.set(body, 2 + name.length);
  return controlFrame(FrameKind.Request, payload);
}

export function decodeRequestFrame(payload: Buffer): { method: string; body: Uint8Array } {
  if (payload.length < 2) throw new PeerRequestError("request frame too short");
  const length = payload.readUInt16LE(0);
  if (2 + length > payload.length) throw new PeerRequestError("request frame method truncated");
  return { method: payload.toString("utf8", 2, 2 + length), body: payload.subarray(2 + length) };
}

export function encodeResponseFrame(ok: boolean, body: Uint8Array): Buffer {
  const payload = Buffer.allocUnsafe(1 + body.byteLength);
  payload[0] = ok ? 0 : 1;
  payload.set(body, 1);
  return controlFrame(FrameKind.Response, payload);
}

/** Makes one call; rejects with PeerRequestError on refusal, failure, timeout or a lost connection. */
export function peerRequest(call: PeerCall): Promise<PeerReply> {
  return new Promise((resolve, reject) => {
    let address: ReturnType<typeof parsePeerUrl>;
    try {
      address = parsePeerUrl(call.url);
    } catch (err) {
      reject(new PeerRequestError((err as Error).message));
      return;
    }
    const socket = connect({ host: address.host, port: address.port });
    const inbox = new ByteQueue(MAX_REQUEST_BYTES);
    let ack: { clusterId: bigint; memberId: NodeId } | undefined;
    let settled = false;
    let failure = `connection to ${call.url} closed before the ${call.method} reply`;
    const finish = (err: Error | undefined, reply?: PeerReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(
      () =>
        finish(new PeerRequestError(`${call.method} to ${call.url} timed out after ${call.timeoutMs} ms`)),
      call.timeoutMs,
    );
    socket.setNoDelay(true);
    socket.on("connect", () => {
      socket.write(
        encodeHello({
          version: PROTOCOL_VERSION,
          channel: Channel.Request,
          clusterId: call.clusterId,
          from: call.from,
          to: call.to,
        }),
      );
    });
    socket.on("data", (chunk: Buffer) => {
      inbox.push(chunk);
      try {
        if (ack === undefined) {
          const bytes = inbox.take(ACK_SIZE);
          if (!bytes) return;
          const a = decodeAck(bytes);
          if (a.status !== HelloStatus.Ok) {
            return finish(
              new PeerRequestError(`${call.url} refused ${call.method}: ${describeStatus(a.status)}`),
            );
          }
          ack = { clusterId: a.clusterId, memberId: a.memberId };
          socket.write(encodeRequestFrame(call.method, call.body));
        }
        const reply = inbox.nextFrame();
        if (!reply) return;
        if (reply.kind !== FrameKind.Response || reply.payload.length < 1) {
          return finish(new PeerRequestError(`unexpected reply frame kind ${reply.kind} from ${call.url}`));
        }
        const body = reply.payload.subarray(1);
        if (reply.payload[0] !== 0) {
          return finish(
            new PeerRequestError(`${call.method} failed on ${call.url}: ${body.toString("utf8")}`),
          );
        }
        finish(undefined, { ...ack, body });
      } catch (err) {
        finish(new PeerRequestError(`protocol error from ${call.url}: ${(err as Error).message}`));
      }
    });
    socket.on("error", (err) => {
      failure = `${call.method} to ${call.url}: ${err.message}`;
    });
    socket.on("close", () => finish(new PeerRequestError(failure)));
  });
}
