// Writing watch events to many clients cheaply. A cache event is shared (the same frozen view
// object) by every watcher it goes to, so its JSON line is made once and the bytes are reused for
// all of them. Lines are not written one by one: each response collects them and all pending
// responses are flushed together a moment later, so a burst of events becomes one chunk (one TLS
// record, one syscall) per client instead of one per event. A burst that reached only a few
// responses (an event for one kubelet's watch, filtered by node) is written at once; a larger one
// waits to be joined by the next, longer the more watch streams are open (each flush costs a
// write per client), capped well below watch latency budgets. Watchers that got the same lines since the last flush (all watchers of a
// namespace, say) also share the joined chunk, so it is built once per flush, not once per client.
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

/** Responses this few with lines waiting are flushed at once. */
const FEW = 32;

/** Flush delay for `open` watch streams: none for a few, then 50 µs per stream, at most 50 ms. */
export function flushDelayMs(open: number): number {
  return open <= FEW ? 0 : Math.min(50, open / 20);
}

const dirty = new Set<WatchResponseWriter>();
let open = 0;
let scheduled = false;

/** Chunks built in one flush, by their first line: the same lines joined once. */
type SharedChunks = Map<Buffer, Array<{ lines: Buffer[]; chunk: Buffer }>>;
/** Different line lists starting with the same line kept per flush (filtered watchers differ). */
const MAX_SHARED_PER_FIRST_LINE = 8;

function sameLines(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function joined(lines: Buffer[], shared: SharedChunks | undefined): Buffer {
  if (lines.length === 1) return lines[0]!;
  if (!shared) return Buffer.concat(lines);
  const first = lines[0]!;
  let built = shared.get(first);
  const hit = built?.find((b) => sameLines(b.lines, lines));
  if (hit) return hit.chunk;
  const chunk = Buffer.concat(lines);
  if (!built) {
    built = [];
    shared.set(first, built);
  }
  if (built.length < MAX_SHARED_PER_FIRST_LINE) built.push({ lines, chunk });
  return chunk;
}

function flushAll(): void {
  scheduled = false;
  const writers = [...dirty];
  dirty.clear();
  const shared: SharedChunks = new Map();
  for (const w of writers) w.flush(shared);
}

/**
 * Once the burst that made the first line wait is dispatched: flush now if it reached only a few
 * responses, else wait (by the number of open streams) for more lines to join.
 */
function decide(): void {
  if (dirty.size <= FEW) flushAll();
  else setTimeout(flushAll, flushDelayMs(open));
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(decide);
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

  flush(shared?: SharedChunks): void {
    if (this.closed || this.pending.length === 0) return;
    const chunk = joined(this.pending, shared);
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
