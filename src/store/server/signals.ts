// Promises the driver settles as Raft makes progress: "a leader is known" and "the applied
// index reached n". Kept apart from the driver so its Ready loop stays readable.
import { StoreError } from "./errors.js";

/** Callers waiting for a leader to be known. */
export class LeaderSignal {
  private waiting: Array<() => void> = [];

  /** Resolves at once when known, else when set(true) comes; fails with NoLeader after timeoutMs. */
  wait(known: boolean, timeoutMs: number): Promise<void> {
    if (known) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== done);
        reject(new StoreError("NoLeader"));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiting.push(done);
    });
  }

  /** A leader became known: release everyone waiting. */
  known(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w();
  }
}

/** Callers waiting for the applied index to reach some index. */
export class AppliedSignal {
  private waiting: Array<{ index: number; resolve: () => void }> = [];

  wait(applied: number, index: number): Promise<void> {
    if (applied >= index) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ index, resolve }));
  }

  /** Releases every wait for an index at or below `applied` (Infinity releases all). */
  release(applied: number): void {
    if (this.waiting.length === 0) return;
    const due = this.waiting.filter((w) => w.index <= applied);
    this.waiting = this.waiting.filter((w) => w.index > applied);
    for (const w of due) w.resolve();
  }
}
