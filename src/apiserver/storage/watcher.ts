// One client's watch, served from a resource's watch cache: filters events through its
// predicate (turning MODIFIED into ADDED/DELETED when an object starts or stops matching, as
// upstream's cacheWatcher does), queues them for its handler, and is ended with an ERROR event
// when its queue overflows instead of holding up the other watchers.
import {
  type KubeObject,
  resourceExpired,
  type Status,
  type StatusError,
  type WatchEvent,
} from "../../api/index.js";
import type { ResourceDef, WatchStream } from "../types.js";
import type { Predicate } from "./predicate.js";

/** One change to a resource as the cache saw it; objects are frozen and shared by all watchers. */
export interface CachedEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  key: string;
  rv: number;
  /** The new state, or for DELETED the last state stamped with the deletion revision. */
  obj: KubeObject;
  prev?: KubeObject;
  /** The previous state stamped with this event's revision, for a watcher it stops matching. */
  prevAtRv(): KubeObject;
  /** The watch events made from this one, shared by every watcher that gets them. */
  views?: Partial<Record<"ADDED" | "MODIFIED" | "DELETED", WatchEvent<KubeObject>>>;
}

function viewOf(e: CachedEvent, type: "ADDED" | "MODIFIED" | "DELETED"): WatchEvent<KubeObject> {
  e.views ??= {};
  let view = e.views[type];
  if (!view) {
    const object = type === "DELETED" && e.type !== "DELETED" ? e.prevAtRv() : e.obj;
    view = Object.freeze({ type, object });
    e.views[type] = view;
  }
  return view;
}

export const INITIAL_EVENTS_END = "k8s.io/initial-events-end";

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export function bookmarkObject(def: ResourceDef, rv: number, initialEventsEnd: boolean): KubeObject {
  const metadata: KubeObject["metadata"] = { resourceVersion: String(rv) };
  if (initialEventsEnd) metadata.annotations = { [INITIAL_EVENTS_END]: "true" };
  return deepFreeze({
    apiVersion: def.group === "" ? def.version : `${def.group}/${def.version}`,
    kind: def.kind,
    metadata,
  });
}

type Handler = (event: WatchEvent<KubeObject>) => unknown;

export class CacheWatcher implements WatchStream {
  private handler: Handler | undefined;
  private queue: Array<WatchEvent<KubeObject>> = [];
  private head = 0;
  private busy = false;
  /** How many of the queued events are initial ones (not counted against the buffer). */
  private initialLeft = 0;
  private ended = false;
  /** Held cache events while the initial state is still being read from etcd. */
  private held: CachedEvent[] | undefined;
  /** Events at or below this revision are already reflected in what the client got. */
  private startRv = 0;
  private lastRv = 0;

  constructor(
    readonly def: ResourceDef,
    readonly predicate: Predicate,
    private readonly opts: { allowBookmarks: boolean; bufferSize: number; onStop: (w: CacheWatcher) => void },
  ) {}

  get stopped(): boolean {
    return this.ended;
  }

  get resourceVersion(): number {
    return this.lastRv;
  }

  /** Starts after `rv`; `initial` (e.g. synthetic ADDED) goes first and does not count against the buffer. */
  begin(rv: number, initial: readonly KubeObject[], endBookmark: boolean): void {
    this.startRv = rv;
    this.lastRv = rv;
    for (const obj of initial) this.queue.push({ type: "ADDED", object: obj });
    if (endBookmark) this.queue.push({ type: "BOOKMARK", object: bookmarkObject(this.def, rv, true) });
    this.initialLeft = this.queue.length - this.head;
    const held = this.held;
    this.held = undefined;
    if (held) for (const e of held) this.offer(e);
    this.pump();
  }

  /** Keeps cache events aside until begin(); used while the initial state comes from etcd. */
  hold(): void {
    this.held = [];
  }

  offer(e: CachedEvent): void {
    if (this.ended) return;
    if (this.held) {
      this.held.push(e);
      if (this.held.length > this.opts.bufferSize) this.overflow();
      return;
    }
    if (e.rv <= this.startRv) return;
    const p = this.predicate;
    const now = e.type !== "DELETED" && p.matches(e.obj);
    const before = e.prev !== undefined && p.matches(e.prev);
    if (!now && !before) return;
    this.lastRv = e.rv;
    this.enqueue(viewOf(e, now && before ? "MODIFIED" : now ? "ADDED" : "DELETED"));
  }

  bookmark(rv: number): void {
    if (this.ended || this.held || !this.opts.allowBookmarks || rv < this.lastRv) return;
    this.lastRv = rv;
    this.enqueue({ type: "BOOKMARK", object: bookmarkObject(this.def, rv, false) });
  }

  /** Ends the watch with an ERROR event carrying `err` (dropping what was still queued). */
  fail(err: StatusError): void {
    if (this.ended) return;
    this.queue = [{ type: "ERROR", object: err.status as Status }];
    this.head = 0;
    this.initialLeft = 0;
    this.held = undefined;
    this.ended = true;
    this.opts.onStop(this);
    this.pump();
  }

  private enqueue(event: WatchEvent<KubeObject>): void {
    this.queue.push(event);
    if (this.queue.length - this.head - this.initialLeft > this.opts.bufferSize) {
      this.overflow();
      return;
    }
    this.pump();
  }

  /** Upstream closes a watcher that cannot keep up; the client lists and watches again. */
  private overflow(): void {
    this.fail(tooSlow(this.def, this.opts.bufferSize));
  }

  onEvent(handler: (event: WatchEvent<KubeObject>) => void): void {
    this.handler = handler as Handler;
    this.pump();
  }

  stop(): void {
    const wasRunning = !this.ended;
    this.ended = true;
    this.queue = [];
    this.head = 0;
    this.initialLeft = 0;
    this.held = undefined;
    if (wasRunning) this.opts.onStop(this);
  }

  /**
   * Delivers queued events in order. A handler may return a promise (e.g. resolved when the HTTP
   * response drains); the next event waits for it, and events meanwhile queue up to bufferSize.
   */
  private pump(): void {
    while (this.handler && !this.busy && this.head < this.queue.length) {
      const event = this.queue[this.head++]!;
      if (this.initialLeft > 0) this.initialLeft--;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      let result: unknown;
      try {
        result = this.handler(event);
      } catch {
        this.stop();
        return;
      }
      if (
        result !== null &&
        typeof result === "object" &&
        typeof (result as Promise<unknown>).then === "function"
      ) {
        this.busy = true;
        (result as Promise<unknown>).then(
          () => {
            this.busy = false;
            this.pump();
          },
          () => {
            this.busy = false;
            this.stop();
          },
        );
      }
    }
  }
}

function tooSlow(def: ResourceDef, bufferSize: number): StatusError {
  return resourceExpired(
    `watch of ${def.group === "" ? def.resource : `${def.resource}.${def.group}`} closed: the client fell more than ${bufferSize} events behind; list and watch again`,
  );
}
