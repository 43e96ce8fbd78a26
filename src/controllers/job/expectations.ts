// client-go style expectations: after a reconcile creates or deletes pods, the informer cache lags
// behind; until the cache has seen those writes (or the expectation expires) the job must not be
// resized again, or it would create pods twice. Lost on restart, which is safe: a new controller
// starts from a synced cache.

const EXPIRY_MS = 5 * 60_000;

interface Expected {
  adds: number;
  deletes: number;
  at: number;
}

export class Expectations {
  private readonly byKey = new Map<string, Expected>();

  constructor(private readonly now: () => number = Date.now) {}

  expect(key: string, adds: number, deletes: number): void {
    this.byKey.set(key, { adds, deletes, at: this.now() });
  }

  /** A create (or one that failed and will never be seen) was observed. */
  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e !== undefined) e.adds--;
  }

  deletionObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e !== undefined) e.deletes--;
  }

  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (e === undefined) return true;
    return (e.adds <= 0 && e.deletes <= 0) || this.now() - e.at > EXPIRY_MS;
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}
