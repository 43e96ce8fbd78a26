// Leases as etcd's server runs them: grants and revokes go through the log; only the leader's
// lessor keeps time, so keep-alives and time-to-live questions arriving at a follower are
// forwarded to the leader (etcd forwards them over HTTP to the leader's peer URL; kite uses a
// peer-transport call). A leader first confirms it still leads (a ReadIndex round, as etcd's
// ensureLeadership) before renewing, so a deposed leader cannot keep a lease alive. The
// leader also proposes revokes for expired leases during housekeeping.
import type { LeaseGrantResponse, LeaseId } from "../mvcc/types.js";
import type { ResolvedOptions } from "./config.js";
import type { RaftDriver } from "./driver.js";
import { StoreError, toStoreError } from "./errors.js";
import { LeaseIdGenerator } from "./ids.js";
import type { ClusterPeers } from "./peers.js";
import type { Applied } from "./proposals.js";

/** Lease revokes proposed per housekeeping round at most (etcd rate-limits them too). */
const REVOKES_PER_ROUND = 500;
export const LEASE_RENEW_METHOD = "leaseRenew";
export const LEASE_TTL_METHOD = "leaseTimeToLive";

export interface LeaseTtl {
  id: LeaseId;
  ttl: number;
  grantedTtl: number;
  keys: Uint8Array[];
}

export class LeaseService {
  private readonly ids: LeaseIdGenerator;

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly driver: RaftDriver,
    private readonly peers: ClusterPeers | undefined,
  ) {
    this.ids = new LeaseIdGenerator(driver.memberId);
    peers?.handle(LEASE_RENEW_METHOD, (_from, arg) => this.renewHere((arg as { id: LeaseId }).id));
    peers?.handle(LEASE_TTL_METHOD, (_from, arg) => {
      const a = arg as { id: LeaseId; keys: boolean };
      return this.timeToLiveHere(a.id, a.keys);
    });
  }

  grant(ttl: number, id: LeaseId | undefined): Promise<Applied<LeaseGrantResponse>> {
    const leaseId = id !== undefined && id !== 0n ? id : this.ids.nextId();
    return this.driver.propose<LeaseGrantResponse>({ kind: "leaseGrant", req: { id: leaseId, ttl } });
  }

  revoke(id: LeaseId): Promise<Applied<{ revision: number }>> {
    return this.driver.propose<{ revision: number }>({ kind: "leaseRevoke", req: { id } });
  }

  /** The renewed TTL in seconds; forwarded to the leader when this member does not lead. */
  keepAlive(id: LeaseId): Promise<number> {
    return this.atLeader(
      () => this.renewHere(id),
      (leader, timeoutMs) => this.peers!.call<number>(leader, LEASE_RENEW_METHOD, { id }, timeoutMs),
    );
  }

  timeToLive(id: LeaseId, keys: boolean): Promise<LeaseTtl> {
    return this.atLeader(
      () => this.timeToLiveHere(id, keys),
      (leader, timeoutMs) => this.peers!.call<LeaseTtl>(leader, LEASE_TTL_METHOD, { id, keys }, timeoutMs),
    );
  }

  /** Proposes revokes for leases the leader's lessor found expired. */
  revokeExpired(): void {
    if (!this.driver.isLeader) return;
    for (const id of this.driver.lessor.expired(REVOKES_PER_ROUND)) {
      this.revoke(id).catch((err) => {
        if (!(err instanceof StoreError && err.code === "LeaseNotFound")) {
          this.opts.log(`store: revoking expired lease ${id} failed: ${(err as Error).message}`);
        }
      });
    }
  }

  /**
   * Runs `here` on the leader, or `forward` to the leader from elsewhere, retrying while
   * leadership moves, until the request timeout.
   */
  private async atLeader<T>(
    here: () => Promise<T>,
    forward: (leader: number, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    const until = this.opts.now() + this.opts.requestTimeoutMs;
    for (;;) {
      await this.driver.awaitLeader();
      try {
        if (this.driver.isLeader) return await here();
        if (this.peers === undefined) throw new StoreError("NotLeader");
        return await forward(this.driver.leaderId, Math.max(1, until - this.opts.now()));
      } catch (err) {
        const moved = err instanceof StoreError && (err.code === "NotLeader" || err.code === "Timeout");
        if (!moved || this.peers === undefined || this.opts.now() >= until) throw err;
        await new Promise((r) => setTimeout(r, this.opts.tickMs * this.opts.heartbeatTick));
      }
    }
  }

  private async ensureLeadership(): Promise<void> {
    if (!this.driver.isLeader) throw new StoreError("NotLeader");
    if (this.driver.hasOtherVoters) await this.driver.linearizableRead();
    if (!this.driver.isLeader) throw new StoreError("NotLeader");
  }

  private async renewHere(id: LeaseId): Promise<number> {
    await this.ensureLeadership();
    try {
      return this.driver.lessor.renew(id);
    } catch (err) {
      throw toStoreError(err);
    }
  }

  private async timeToLiveHere(id: LeaseId, keys: boolean): Promise<LeaseTtl> {
    await this.driver.linearizableRead();
    if (!this.driver.isLeader) throw new StoreError("NotLeader");
    const store = this.driver.sm.store;
    if (!store.hasLease(id)) return { id, ttl: -1, grantedTtl: 0, keys: [] };
    const info = store.leaseInfo(id);
    return {
      id,
      ttl: this.driver.lessor.remainingTtl(id),
      grantedTtl: info.grantedTtl,
      keys: keys ? info.keys : [],
    };
  }
}
