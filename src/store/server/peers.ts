// The member's side of the peer transport: listens on the first --listen-peer-urls URL, keeps
// the transport's peers in step with the replicated member list, feeds what arrives to the
// Raft driver, and offers small request/response calls between members (lease renewals and
// promotions forwarded to the leader, a joining member asking for the cluster). Call bodies
// are JSON (bytes and bigints included); a StoreError thrown by the callee is rethrown as the
// same StoreError at the caller, so etcd's error texts survive the hop.
import type { Registry } from "prom-client";
import type { NodeId } from "../../raft/types.js";
import { PeerRequestError, PeerTransport } from "../transport/index.js";
import type { PeerTuning, ResolvedOptions } from "./config.js";
import type { WalMetadata } from "./disk.js";
import type { RaftDriver } from "./driver.js";
import { isStoreError, STORE_ERRORS, StoreError, type StoreErrorCode } from "./errors.js";
import { fromJsonBytes, toJsonBytes } from "./requestcodec.js";
import type { MemberRecord } from "./snapshotdata.js";

/** Serves one method: `from` is the calling member (0 when it has no id yet). */
export type PeerHandler = (from: NodeId, arg: unknown) => Promise<unknown>;

type Reply = { ok: unknown } | { err: { code: string; detail?: string; message: string } };

export interface ClusterPeersOptions {
  clusterId: bigint;
  memberId: NodeId;
  listenUrl: string;
  driver: RaftDriver;
  registry: Registry;
  tuning: PeerTuning;
  log: (message: string) => void;
}

export class ClusterPeers {
  readonly transport: PeerTransport;
  private readonly handlers = new Map<string, PeerHandler>();
  private readonly urls = new Map<NodeId, string>();

  constructor(private readonly o: ClusterPeersOptions) {
    const events = o.driver.peerEvents;
    this.transport = new PeerTransport({
      clusterId: o.clusterId,
      memberId: o.memberId,
      listenUrl: o.listenUrl,
      onMessage: events.message,
      onUnreachable: events.unreachable,
      onSnapshotStatus: events.snapshotStatus,
      onPeerLost: events.lost,
      onRequest: (from, method, body) => this.serve(from, method, body),
      logger: { info: () => {}, warn: (m) => o.log(`store: ${m}`) },
      metrics: o.registry,
      ...o.tuning,
    });
  }

  async start(): Promise<void> {
    await this.transport.start();
  }

  stop(): Promise<void> {
    return this.transport.stop();
  }

  /** Registers the handler for method (one per method). */
  handle(method: string, handler: PeerHandler): void {
    this.handlers.set(method, handler);
  }

  /** Adds, re-points and drops peers so the transport matches the member list. */
  sync(members: readonly MemberRecord[]): void {
    const wanted = new Map<NodeId, string>();
    for (const m of members) {
      if (m.id !== this.o.memberId && m.peerURLs.length > 0) wanted.set(m.id, m.peerURLs[0]!);
    }
    for (const id of [...this.urls.keys()]) {
      if (!wanted.has(id)) {
        this.transport.removePeer(id);
        this.urls.delete(id);
      }
    }
    for (const [id, url] of wanted) {
      const known = this.urls.get(id);
      try {
        if (known === undefined) this.transport.addPeer(id, url);
        else if (known !== url) this.transport.updatePeer(id, url);
        this.urls.set(id, url);
      } catch (err) {
        this.o.log(`store: cannot reach member ${id.toString(16)} at ${url}: ${(err as Error).message}`);
      }
    }
  }

  /** Whether the stream to member id is up and not cut (etcd: the peer is active). */
  isConnected(id: NodeId): boolean {
    if (this.transport.faults.isCut(id)) return false;
    return this.transport.peerStatus().some((p) => p.id === id && p.connected);
  }

  /** Calls method on member `to`; rethrows the callee's StoreError, else fails with Unavailable-ish errors. */
  async call<T>(to: NodeId, method: string, arg: unknown, timeoutMs: number): Promise<T> {
    let body: Uint8Array;
    try {
      body = await this.transport.request(to, method, toJsonBytes(arg ?? null), timeoutMs);
    } catch (err) {
      if (err instanceof PeerRequestError) throw new StoreError("Timeout", err.message);
      throw err;
    }
    const reply = fromJsonBytes(body) as Reply;
    if ("ok" in reply) return reply.ok as T;
    const code = reply.err.code;
    if (code in STORE_ERRORS) throw new StoreError(code as StoreErrorCode, reply.err.detail);
    throw new Error(reply.err.message);
  }

  private async serve(from: NodeId, method: string, body: Uint8Array): Promise<Uint8Array> {
    const handler = this.handlers.get(method);
    if (handler === undefined) throw new Error(`unknown peer method ${method}`);
    let reply: Reply;
    try {
      const arg = body.byteLength === 0 ? null : fromJsonBytes(body);
      reply = { ok: (await handler(from, arg)) ?? null };
    } catch (err) {
      reply = isStoreError(err)
        ? { err: { code: err.code, message: err.message, ...(err.detail ? { detail: err.detail } : {}) } }
        : { err: { code: "", message: String((err as Error)?.message ?? err) } };
    }
    return toJsonBytes(reply);
  }
}

/** Starts the peer listener for a member and hooks it to the driver (before driver.start()). */
export async function startPeers(
  opts: ResolvedOptions,
  ids: WalMetadata,
  driver: RaftDriver,
  registry: Registry,
): Promise<ClusterPeers> {
  const peers = new ClusterPeers({
    clusterId: ids.clusterId,
    memberId: ids.memberId,
    listenUrl: opts.listenPeerUrls[0]!,
    driver,
    registry,
    tuning: opts.peerTuning,
    log: opts.log,
  });
  try {
    await peers.start();
  } catch (err) {
    await driver.close();
    throw err;
  }
  driver.transport = peers.transport;
  driver.onMembersChanged = (members) => peers.sync(members);
  return peers;
}
