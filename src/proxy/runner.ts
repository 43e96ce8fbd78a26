// Coalesced syncs, as upstream's BoundedFrequencyRunner: run() asks for a sync; requests arriving
// while one is queued or running fold into the next one; two syncs start at least minIntervalMs
// apart (default 0: the next timer turn, so a burst of informer events costs one sync), and at
// most maxIntervalMs apart (a periodic full resync; a failed sync is retried after retryMs).
import type { Clock, TimerHandle } from "../client/index.js";

export interface SyncRunnerOptions {
  clock: Clock;
  minIntervalMs?: number;
  maxIntervalMs?: number;
  retryMs?: number;
  log?: (message: string) => void;
  /** Called when a sync is queued (not when folded into one already queued). */
  onQueued?: () => void;
}

export class SyncRunner {
  private dirty = false;
  private running?: Promise<void>;
  private timer?: TimerHandle;
  private periodic?: TimerHandle;
  private lastStartMs = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private readonly minIntervalMs: number;
  private readonly maxIntervalMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly opts: SyncRunnerOptions,
  ) {
    this.minIntervalMs = Math.max(0, opts.minIntervalMs ?? 0);
    this.maxIntervalMs = opts.maxIntervalMs ?? 30_000;
    this.retryMs = opts.retryMs ?? 1000;
  }

  run(): void {
    if (this.stopped) return;
    if (!this.dirty) this.opts.onQueued?.();
    this.dirty = true;
    this.schedule();
  }

  private schedule(delayMs = 0): void {
    if (this.stopped || this.running !== undefined || this.timer !== undefined) return;
    const wait = Math.max(delayMs, this.lastStartMs + this.minIntervalMs - this.opts.clock.now(), 0);
    this.timer = this.opts.clock.after(wait, () => {
      this.timer = undefined;
      this.fire();
    });
  }

  private fire(): void {
    if (this.stopped || !this.dirty) return;
    this.dirty = false;
    this.lastStartMs = this.opts.clock.now();
    this.periodic?.cancel();
    this.running = this.fn()
      .then(
        () => false,
        (err) => {
          this.opts.log?.(
            `proxy: sync failed, retrying in ${this.retryMs} ms: ${(err as Error).stack ?? err}`,
          );
          return true;
        },
      )
      .then((failed) => {
        this.running = undefined;
        if (this.stopped) return;
        if (failed) this.dirty = true;
        if (this.dirty) this.schedule(failed ? this.retryMs : 0);
        else if (this.maxIntervalMs > 0)
          this.periodic = this.opts.clock.after(this.maxIntervalMs, () => this.run());
      });
  }

  /** Stops scheduling and waits for a sync in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.periodic?.cancel();
    await this.running;
  }
}
