// Upstream's (UID-tracking) ControllerExpectations: after asking for N creates or for the deletion
// of some pods, a controller waits to see them in its cache before acting on that owner again, so
// a stale cache cannot make it create or delete twice. Deletions are tracked by pod uid, so a pod
// seen first as terminating and later as gone counts once. Expectations not met within the TTL
// expire, so a lost event cannot wedge an owner.

const TTL_MS = 5 * 60 * 1000;

interface Expected {
  adds: number;
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  private readonly byKey = new Map<string, Expected>();

  constructor(private readonly now: () => number = Date.now) {}

  /** True when the owner may be synced: nothing pending, or the expectation expired. */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (e === undefined) return true;
    return (e.adds <= 0 && e.deletes.size === 0) || this.now() - e.at > TTL_MS;
  }

  expectCreations(key: string, adds: number): void {
    this.byKey.set(key, { adds, deletes: new Set(), at: this.now() });
  }

  expectDeletions(key: string, podUids: string[]): void {
    this.byKey.set(key, { adds: 0, deletes: new Set(podUids), at: this.now() });
  }

  /** Creates that failed or were never attempted will never be observed. */
  lowerCreations(key: string, n: number): void {
    const e = this.byKey.get(key);
    if (e !== undefined) e.adds -= n;
  }

  creationObserved(key: string): void {
    this.lowerCreations(key, 1);
  }

  deletionObserved(key: string, podUid: string): void {
    this.byKey.get(key)?.deletes.delete(podUid);
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }
}
