// Pending ReadIndex requests on a leader (ReadOnlySafe). Each request records the commit
// index at arrival and waits until a quorum acknowledged a heartbeat round carrying its ctx
// or the ctx of a later request: a quorum that acknowledged a later round also confirms
// leadership for every request queued before it.

import type { Message, NodeId } from "./types.js";
import { ctxKey } from "./util.js";

interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Set<NodeId>;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];
  private lastCtx: Uint8Array | undefined;

  /** Queues a request; a repeated ctx that is still pending is ignored. */
  addRequest(index: number, req: Message, ctx: Uint8Array): void {
    const key = ctxKey(ctx);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req, index, acks: new Set() });
    this.queue.push(key);
    this.lastCtx = ctx;
  }

  /** Records that `id` acknowledged the round for ctx; returns the acks so far, if pending. */
  recvAck(id: NodeId, ctx: Uint8Array): Set<NodeId> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Releases every request queued up to and including ctx, oldest first. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = ctxKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released: ReadIndexStatus[] = [];
    for (let i = 0; i <= at; i++) {
      const k = this.queue[i];
      const rs = this.pending.get(k);
      if (rs !== undefined) released.push(rs);
      this.pending.delete(k);
    }
    this.queue = this.queue.slice(at + 1);
    if (this.queue.length === 0) this.lastCtx = undefined;
    return released;
  }

  /** The ctx a heartbeat round should carry to confirm every pending request. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    return this.queue.length === 0 ? undefined : this.lastCtx;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
