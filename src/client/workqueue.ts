// The controller work queue, with client-go's semantics: an item queued many times is processed
// once; an item re-added while a worker holds it goes back in line only after done(), so one key
// is never reconciled by two workers at once. Retries are paced per item (exponential backoff)
// and overall (token bucket), combined by max-of as client-go's DefaultControllerRateLimiter.
import { type Clock, realClock, type TimerHandle } from "./clock.js";
import type { WorkQueueMetrics } from "./metrics.js";
import { TokenBucket } from "./ratelimit.js";

export interface RateLimiter<T> {
  /** How long to wait before the item is retried; counts a failure. */
  when(item: T): number;
  /** Stops tracking the item (after it succeeded). */
  forget(item: T): void;
  numRequeues(item: T): number;
}

/** base * 2^failures, capped at max: 5 ms → 1000 s by default, as client-go. */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  private readonly failures = new Map<T, number>();

  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(item: T): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // 2^n overflows to Infinity for large n, which the cap handles.
    return Math.min(this.maxMs, this.baseMs * 2 ** n);
  }

  forget(item: T): void {
    this.failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.failures.get(item) ?? 0;
  }
}

/** An overall limit on retries: one token per retry from a shared bucket. */
export class BucketRateLimiter<T> implements RateLimiter<T> {
  constructor(private readonly bucket: TokenBucket) {}

  when(_item: T): number {
    return this.bucket.reserve();
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0;
  }
}

/** The longest wait any of the limiters asks for. */
export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  private readonly limiters: RateLimiter<T>[];

  constructor(...limiters: RateLimiter<T>[]) {
    this.limiters = limiters;
  }

  when(item: T): number {
    let wait = 0;
    for (const l of this.limiters) wait = Math.max(wait, l.when(item));
    return wait;
  }

  forget(item: T): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: T): number {
    let n = 0;
    for (const l of this.limiters) n = Math.max(n, l.numRequeues(item));
    return n;
  }
}

/** client-go's DefaultControllerRateLimiter: per-item 5 ms → 1000 s, overall 10 qps with burst 100. */
export function defaultControllerRateLimiter<T>(clock: Clock = realClock): RateLimiter<T> {
  return new MaxOfRateLimiter<T>(
    new ItemExponentialFailureRateLimiter<T>(5, 1_000_000),
    new BucketRateLimiter<T>(new TokenBucket(10, 100, clock)),
  );
}

export interface WorkQueueOptions<T> {
  name?: string;
  clock?: Clock;
  rateLimiter?: RateLimiter<T>;
  /** Reported under `name`. */
  metrics?: WorkQueueMetrics;
}

export class WorkQueue<T> {
  readonly name: string;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter<T>;
  /** Items waiting, in order; each also in `dirty`. */
  private queue: T[] = [];
  private head = 0;
  /** Items that need processing (queued, or re-added while processing). */
  private readonly dirty = new Set<T>();
  private readonly processing = new Set<T>();
  /** One pending delayed add per item, the earliest wins. */
  private readonly delayed = new Map<T, { at: number; timer: TimerHandle }>();
  private getters: Array<(item: T | undefined) => void> = [];
  private drainWaiters: Array<() => void> = [];
  private stopping = false;
  private readonly metrics: WorkQueueMetrics | undefined;
  /** When each queued item was queued, and when each in-process item was taken (for metrics). */
  private readonly queuedAt = new Map<T, number>();
  private readonly takenAt = new Map<T, number>();

  constructor(opts: WorkQueueOptions<T> = {}) {
    this.name = opts.name ?? "";
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter<T>(this.clock);
    this.metrics = opts.metrics;
  }

  private noteQueued(item: T): void {
    if (!this.metrics) return;
    this.queuedAt.set(item, this.clock.now());
    this.metrics.depth(this.name, this.len());
  }

  private noteTaken(item: T): void {
    if (!this.metrics) return;
    const now = this.clock.now();
    const at = this.queuedAt.get(item);
    this.queuedAt.delete(item);
    if (at !== undefined) this.metrics.waited(this.name, (now - at) / 1000);
    this.takenAt.set(item, now);
    this.metrics.depth(this.name, this.len());
  }

  /** Queues the item unless it is already waiting; ignored after shutdown. */
  add(item: T): void {
    if (this.stopping || this.dirty.has(item)) return;
    this.metrics?.added(this.name);
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    const getter = this.getters.shift();
    if (getter !== undefined) {
      this.dirty.delete(item);
      this.processing.add(item);
      this.noteQueued(item);
      this.noteTaken(item);
      getter(item);
      return;
    }
    this.queue.push(item);
    this.noteQueued(item);
  }

  /** Adds the item after ms; a sooner pending delay for it is kept, a later one is replaced. */
  addAfter(item: T, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) {
      this.add(item);
      return;
    }
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(item);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      pending.timer.cancel();
    }
    const timer = this.clock.after(ms, () => {
      this.delayed.delete(item);
      this.add(item);
    });
    this.delayed.set(item, { at, timer });
  }

  /** Adds the item when the rate limiter allows: the usual answer to a failed reconcile. */
  addRateLimited(item: T): void {
    if (!this.stopping) this.metrics?.retried(this.name);
    this.addAfter(item, this.limiter.when(item));
  }

  /** Clears the item's failure history (after success). */
  forget(item: T): void {
    this.limiter.forget(item);
  }

  numRequeues(item: T): number {
    return this.limiter.numRequeues(item);
  }

  /** Items waiting to be processed (not counting delayed ones or ones in process). */
  len(): number {
    return this.queue.length - this.head;
  }

  /** The next item, marked as in process until done(); undefined once shut down and empty. */
  get(): Promise<T | undefined> {
    const item = this.takeNext();
    if (item !== undefined || this.stopping) return Promise.resolve(item);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  private takeNext(): T | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head++] as T;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(item);
    this.processing.add(item);
    this.noteTaken(item);
    return item;
  }

  /** Ends processing of the item; if it was re-added meanwhile it is queued again now. */
  done(item: T): void {
    if (!this.processing.delete(item)) return;
    const taken = this.takenAt.get(item);
    if (taken !== undefined) {
      this.takenAt.delete(item);
      this.metrics?.worked(this.name, (this.clock.now() - taken) / 1000);
    }
    if (this.dirty.has(item)) {
      this.dirty.delete(item);
      this.add(item);
    }
    this.checkDrained();
  }

  shuttingDown(): boolean {
    return this.stopping;
  }

  /** Stops accepting items; workers still get what is queued, then undefined. */
  shutdown(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    // Items re-added during processing will not be queued again after shutdown.
    for (const item of this.processing) this.dirty.delete(item);
    if (this.len() === 0) for (const getter of this.getters.splice(0)) getter(undefined);
    this.checkDrained();
  }

  /** Shuts down and resolves once every queued and in-process item is done. */
  shutdownWithDrain(): Promise<void> {
    this.shutdown();
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private isDrained(): boolean {
    return this.len() === 0 && this.processing.size === 0;
  }

  private checkDrained(): void {
    if (!this.stopping) return;
    if (this.len() === 0) for (const getter of this.getters.splice(0)) getter(undefined);
    if (this.isDrained()) for (const wake of this.drainWaiters.splice(0)) wake();
  }
}

export type ReconcileResult = undefined | { requeueAfterMs?: number };

/**
 * Runs `workers` loops taking items from the queue and reconciling them, at most `workers` at a
 * time. Success forgets the item's failures (and re-adds it after requeueAfterMs when asked);
 * failure re-adds it rate-limited. Resolves once the queue is shut down and every worker stopped.
 */
export async function runWorkers<T>(
  queue: WorkQueue<T>,
  workers: number,
  reconcile: (item: T) => Promise<ReconcileResult | undefined> | ReconcileResult | undefined,
  onError: (item: T, err: unknown) => void = () => {},
): Promise<void> {
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`workers must be a positive integer, got ${workers}`);
  const loop = async () => {
    for (;;) {
      const item = await queue.get();
      if (item === undefined) return;
      try {
        const result = await reconcile(item);
        queue.forget(item);
        if (result?.requeueAfterMs !== undefined) queue.addAfter(item, result.requeueAfterMs);
      } catch (err) {
        onError(item, err);
        queue.addRateLimited(item);
      } finally {
        queue.done(item);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}
