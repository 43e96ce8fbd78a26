// The peer transport: carries Raft messages between members over plain TCP on each member's
// peer URL (kite's own binary protocol, not etcd's HTTP). It owns the message codec, the
// handshake and framing, per-peer batched and pipelined streams with bounded queues and
// reconnect, snapshot sends on their own connections, fault injection for tests and Jepsen,
// and etcd_network_* metrics, plus one-shot request/response calls between members. The
// driver feeds it Ready.messages and hears back through onMessage, onUnreachable and
// onSnapshotStatus.
export { type PeerAddress, PeerUrlError, parsePeerUrl } from "./address.js";
export { CodecError, decodeMessage, encodeMessage } from "./codec.js";
export { FaultSpecError, TransportFaults } from "./faults.js";
export {
  type PeerCall,
  type PeerReply,
  PeerRequestError,
  type PeerRequestHandler,
  peerRequest,
} from "./request.js";
export { PeerTransport } from "./transport.js";
export type {
  PeerStatus,
  PeerTransportOptions,
  TransportLogger,
  TransportStats,
} from "./types.js";
export { PROTOCOL_VERSION, WireError } from "./wire.js";
