// Lease expiry bookkeeping on one member (not replicated state). Only the leader ("primary")
// runs the clock: on promotion every lease gets a fresh full TTL (plus `extend`), keep-alives
// renew it, and expired() tells the leader which leases to propose revokes for. Followers hold
// every lease "forever", as etcd's lessor does. The clock is injected; no timers here.
import { type LeaseId, MvccError } from "./types.js";

export interface LessorOptions {
  /** Milliseconds on a monotonic clock. */
  now: () => number;
  /**
   * After expired() reports a lease, it is reported again only after this many ms if it is still
   * not revoked (etcd's expiredLeaseRetryInterval, 3 s).
   */
  retryMs?: number;
}

interface Expiry {
  /** Granted TTL, seconds. */
  ttl: number;
  /** Absolute expiry in ms; Infinity while not primary. */
  expiresAt: number;
  /** When expired() last reported this lease, for retry spacing. */
  reportedAt: number;
}

export class Lessor {
  private readonly now: () => number;
  private readonly retryMs: number;
  private readonly leases = new Map<LeaseId, Expiry>();
  private primary = false;

  constructor(opts: LessorOptions) {
    this.now = opts.now;
    this.retryMs = opts.retryMs ?? 3000;
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  // ---- fed by MvccStore as it applies grants/revokes/restores ----

  onGrant(id: LeaseId, ttl: number): void {
    this.leases.set(id, {
      ttl,
      expiresAt: this.primary ? this.now() + ttl * 1000 : Infinity,
      reportedAt: -Infinity,
    });
  }

  onRevoke(id: LeaseId): void {
    this.leases.delete(id);
  }

  /** Replaces all leases (after a snapshot restore). */
  onReset(leases: Iterable<{ id: LeaseId; ttl: number }>): void {
    this.leases.clear();
    for (const l of leases) this.onGrant(l.id, l.ttl);
  }

  // ---- driven by the member ----

  /** Becoming leader: every lease expires ttl + extendMs from now (etcd's Promote). */
  promote(extendMs = 0): void {
    this.primary = true;
    const now = this.now();
    for (const e of this.leases.values()) {
      e.expiresAt = now + extendMs + e.ttl * 1000;
      e.reportedAt = -Infinity;
    }
  }

  /** Losing leadership: leases stop expiring here. */
  demote(): void {
    this.primary = false;
    for (const e of this.leases.values()) e.expiresAt = Infinity;
  }

  /**
   * A keep-alive: restarts the lease's TTL and returns it (seconds). Throws NOT_PRIMARY on a
   * follower (the server forwards to the leader) and LEASE_NOT_FOUND for unknown leases or
   * leases already past expiry (their revoke is on its way).
   */
  renew(id: LeaseId): number {
    if (!this.primary) throw new MvccError("NOT_PRIMARY");
    const e = this.leases.get(id);
    if (e === undefined) throw new MvccError("LEASE_NOT_FOUND");
    const now = this.now();
    if (e.expiresAt <= now) throw new MvccError("LEASE_NOT_FOUND");
    e.expiresAt = now + e.ttl * 1000;
    e.reportedAt = -Infinity;
    return e.ttl;
  }

  /**
   * Remaining TTL in whole seconds (rounded up, as etcd's LeaseTimeToLive), or -1 if unknown.
   * On a follower this is the granted TTL, since only the leader tracks time.
   */
  remainingTtl(id: LeaseId): number {
    const e = this.leases.get(id);
    if (e === undefined) return -1;
    if (e.expiresAt === Infinity) return e.ttl;
    return Math.max(0, Math.ceil((e.expiresAt - this.now()) / 1000));
  }

  /**
   * Leases past their expiry that the leader should propose revokes for, soonest-expired first
   * (at most `limit`). A lease reported once is reported again after retryMs if still present.
   */
  expired(limit = Number.POSITIVE_INFINITY): LeaseId[] {
    if (!this.primary) return [];
    const now = this.now();
    const due: [LeaseId, Expiry][] = [];
    for (const entry of this.leases) {
      const e = entry[1];
      if (e.expiresAt <= now && now - e.reportedAt >= this.retryMs) due.push(entry);
    }
    due.sort((a, b) => a[1].expiresAt - b[1].expiresAt || (a[0] < b[0] ? -1 : 1));
    const out: LeaseId[] = [];
    for (const [id, e] of due) {
      if (out.length >= limit) break;
      e.reportedAt = now;
      out.push(id);
    }
    return out;
  }
}
