// Shared helpers for the peer transport tests: transports on loopback port 0 that record what
// they receive and report, and a way to stop them all even when a test fails.
import type { Registry } from "prom-client";
import { type Message, MessageType, type NodeId } from "../../src/raft/types.js";
import { PeerTransport, type PeerTransportOptions } from "../../src/store/transport/index.js";
import { freePort } from "../support/ports.js";
import { waitFor } from "../support/require.js";

export { freePort };

export const CLUSTER = 0x6b697465n;

export interface Node {
  id: NodeId;
  url: string;
  port: number;
  transport: PeerTransport;
  received: Message[];
  unreachable: NodeId[];
  snapshotStatus: Array<{ id: NodeId; ok: boolean }>;
  warnings: string[];
}

export class Harness {
  readonly nodes: Node[] = [];

  async node(
    id: NodeId,
    extra: Partial<PeerTransportOptions> & { port?: number; metrics?: Registry } = {},
  ): Promise<Node> {
    const received: Message[] = [];
    const unreachable: NodeId[] = [];
    const snapshotStatus: Array<{ id: NodeId; ok: boolean }> = [];
    const warnings: string[] = [];
    const { port: requested, ...rest } = extra;
    const transport = new PeerTransport({
      clusterId: CLUSTER,
      memberId: id,
      listenUrl: `http://127.0.0.1:${requested ?? 0}`,
      onMessage: (m) => received.push(m),
      onUnreachable: (peer) => unreachable.push(peer),
      onSnapshotStatus: (peer, ok) => snapshotStatus.push({ id: peer, ok }),
      logger: { info: () => {}, warn: (w) => warnings.push(w) },
      reconnectInitialMs: 10,
      reconnectMaxMs: 50,
      ...rest,
    });
    const { port } = await transport.start();
    const node = {
      id,
      url: `http://127.0.0.1:${port}`,
      port,
      transport,
      received,
      unreachable,
      snapshotStatus,
      warnings,
    };
    this.nodes.push(node);
    return node;
  }

  /** Makes every pair of nodes peers of each other. */
  mesh(nodes: Node[]): void {
    for (const a of nodes) for (const b of nodes) if (a !== b) a.transport.addPeer(b.id, b.url);
  }

  /** Meshes the nodes and waits until every outbound stream has completed its handshake. */
  async connect(nodes: Node[]): Promise<void> {
    this.mesh(nodes);
    await waitFor(
      () => nodes.every((n) => n.transport.peerStatus().every((p) => p.connected)),
      5000,
      "streams connected",
    );
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.transport.stop()));
  }
}

export function msg(from: NodeId, to: NodeId, index: number, type = MessageType.App): Message {
  return {
    type,
    from,
    to,
    term: 1,
    logTerm: 1,
    index,
    entries: [],
    commit: index,
    reject: false,
    rejectHint: 0,
  };
}

/** A port nothing listens on right now (bound, then released). */
