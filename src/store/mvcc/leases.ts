// The replicated part of leases: which leases exist, their granted TTL and the keys attached.
// Expiry timing is not replicated state; that lives in the Lessor (lessor.ts).
import type { KeyHistory } from "./keyindex.js";
import type { LeaseId } from "./types.js";

export interface LeaseRecord {
  readonly id: LeaseId;
  /** Granted TTL in seconds (after the minimum-TTL raise). */
  readonly ttl: number;
  readonly keys: Set<KeyHistory>;
}

export class LeaseTable {
  private readonly leases = new Map<LeaseId, LeaseRecord>();

  get size(): number {
    return this.leases.size;
  }

  get(id: LeaseId): LeaseRecord | undefined {
    return this.leases.get(id);
  }

  has(id: LeaseId): boolean {
    return this.leases.has(id);
  }

  add(id: LeaseId, ttl: number): LeaseRecord {
    const rec: LeaseRecord = { id, ttl, keys: new Set() };
    this.leases.set(id, rec);
    return rec;
  }

  delete(id: LeaseId): void {
    this.leases.delete(id);
  }

  attach(id: LeaseId, h: KeyHistory): void {
    this.leases.get(id)?.keys.add(h);
  }

  detach(id: LeaseId, h: KeyHistory): void {
    this.leases.get(id)?.keys.delete(h);
  }

  /** Leases sorted by id so every member iterates them in the same order. */
  sorted(): LeaseRecord[] {
    return [...this.leases.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  clear(): void {
    this.leases.clear();
  }
}
