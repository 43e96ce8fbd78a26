// Container restart back-off as upstream's flowcontrol.Backoff keyed per container: the first
// restart after a failure is immediate, then 10 s doubling to 300 s; an entry untouched for twice
// the maximum (10 min) is forgotten, so a container that ran long enough starts from 10 s again.
import type { Clock } from "../client/index.js";

interface Entry {
  delayMs: number;
  /** When the delay was last raised. */
  lastUpdate: number;
}

export class RestartBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    readonly initialMs = 10_000,
    readonly maxMs = 300_000,
  ) {}

  private expired(entry: Entry, now: number): boolean {
    return now - entry.lastUpdate > 2 * this.maxMs;
  }

  /** The current delay of the key (0 when it has none). */
  get(key: string): number {
    const entry = this.entries.get(key);
    if (entry === undefined || this.expired(entry, this.clock.now())) return 0;
    return entry.delayMs;
  }

  /** Counts one more restart: the delay starts at initialMs, then doubles up to maxMs. */
  next(key: string, eventTime: number): void {
    const now = this.clock.now();
    const entry = this.entries.get(key);
    if (entry === undefined || this.expired(entry, now)) {
      this.entries.set(key, { delayMs: this.initialMs, lastUpdate: Math.max(eventTime, now) });
      return;
    }
    entry.delayMs = Math.min(entry.delayMs * 2, this.maxMs);
    entry.lastUpdate = now;
  }

  /** True while now is within the key's delay counted from eventTime (when the container exited). */
  inBackoffSince(key: string, eventTime: number): boolean {
    const entry = this.entries.get(key);
    const now = this.clock.now();
    if (entry === undefined || this.expired(entry, now)) return false;
    return now - eventTime < entry.delayMs;
  }

  /** Milliseconds left of the back-off counted from eventTime (0 when none). */
  remaining(key: string, eventTime: number): number {
    const entry = this.entries.get(key);
    if (entry === undefined) return 0;
    return Math.max(0, eventTime + entry.delayMs - this.clock.now());
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key starting with prefix (a pod's containers). */
  forgetPrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}

/** Milliseconds as Go's time.Duration prints them: "10s", "1m20s", "5m0s", "1.5s". */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  const totalSeconds = ms / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = Math.round((totalSeconds % 60) * 1000) / 1000;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
