// Writing watch events to many clients cheaply. A cache event is shared (the same frozen view
// object) by every watcher it goes to, so its JSON line is made once and the bytes are reused for
// all of them. Lines are not written one by one: each response collects them and all pending
// responses are flushed together a moment later, so a burst of events becomes one chunk (one TLS
// record, one syscall) per client instead of one per event. The wait grows with the number of
// open watches (each flush costs a write per client) and is capped well below watch latency
// budgets.
import type { ServerResponse } from "node:http";
import type { KubeObject, WatchEvent } from "../../api/index.js";
import type { ResourceDef } from "../types.js";
import { withType } from "./context.js";

const encoded = new WeakMap<object, Buffer>();

/** The `{"type":..,"object":..}\n` line of an event in plain JSON; made once per shared event. */
export function encodeJsonEvent(def: ResourceDef, event: WatchEvent<KubeObject>): Buffer {
  // BOOKMARK and ERROR events are made for one watcher; caching them would only cost.
  const shared = event.type !== "BOOKMARK" && event.type !== "ERROR";
  if (shared) {
    const hit = encoded.get(event);
    if (hit) return hit;
  }
  const object = event.type === "ERROR" ? event.object : withType(def, event.object as KubeObject);
  const line = Buffer.from(`${JSON.stringify({ type: event.type, object })}\n`);
  if (shared) encoded.set(event, line);
  return line;
}

/** Flush delay for `open` watch streams: none for a few, then 50 µs per stream, at most 50 ms. */
export function flushDelayMs(open: number): number {
  return open <= 32 ? 0 : Math.min(50, open / 20);
}

const dirty = new Set<WatchResponseWriter>();
let open = 0;
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const writers = [...dirty];
  dirty.clear();
  for (const w of writers) w.flush();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  const delay = flushDelayMs(open);
  if (delay === 0) setImmediate(flushAll);
  else setTimeout(flushAll, delay);
}

/** One watch response's outgoing lines, written in batches. */
export class WatchResponseWriter {
  private pending: Buffer[] = [];
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    /** Called after a flush left more than this many bytes unsent (the client is not reading). */
    private readonly maxUnsentBytes: number,
    private readonly onTooSlow: () => void,
  ) {
    open++;
  }

  /** Queues a line; `now` writes it (and what is queued) at once, e.g. for a final ERROR. */
  write(line: Buffer, now = false): void {
    if (this.closed) return;
    this.pending.push(line);
    if (now) {
      dirty.delete(this);
      this.flush();
      return;
    }
    dirty.add(this);
    schedule();
  }

  flush(): void {
    if (this.closed || this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.res.write(chunk);
    if (this.res.writableLength > this.maxUnsentBytes) this.onTooSlow();
  }

  /** Writes what is queued and stops taking lines. */
  close(): void {
    if (this.closed) return;
    dirty.delete(this);
    if (!this.res.writableEnded && !this.res.destroyed) this.flush();
    this.closed = true;
    this.pending = [];
    open--;
  }
}
