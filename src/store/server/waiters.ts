// Callers waiting for their proposal to be applied, keyed by request id (etcd's wait.Wait).
// All waits share one timeout, so insertion order is deadline order and a periodic sweep
// from the front expires them without a timer per request.

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  deadline: number;
}

export class ProposalWaiters {
  private readonly waiting = new Map<number, Waiter>();

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Registers id before it is proposed; the promise settles when it is applied, fails or times out. */
  register<T>(id: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, {
        resolve: resolve as (value: unknown) => void,
        reject,
        deadline: this.now() + this.timeoutMs,
      });
    });
  }

  has(id: number): boolean {
    return this.waiting.has(id);
  }

  resolve(id: number, value: unknown): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    w.resolve(value);
  }

  reject(id: number, err: unknown): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    w.reject(err);
  }

  /** Fails every wait past its deadline with the error makeError builds; returns how many. */
  expire(makeError: () => unknown): number {
    const now = this.now();
    let expired = 0;
    for (const [id, w] of this.waiting) {
      if (w.deadline > now) break;
      this.waiting.delete(id);
      w.reject(makeError());
      expired++;
    }
    return expired;
  }

  rejectAll(err: unknown): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(err);
  }
}
