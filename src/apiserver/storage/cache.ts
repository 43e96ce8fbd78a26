// The watch cache of one resource: ONE etcd watch on the resource's key prefix feeds the current
// objects (ordered by key, so namespaces are key ranges; pods also by spec.nodeName) and a bounded
// history of recent events, fanned out in memory to every client watcher. A broken etcd watch is
// resumed from the last revision; a compacted one makes the cache list again and end its watchers.
import { type KubeObject, tooManyRequests, tooOldResourceVersion } from "../../api/index.js";
import type { ListResult, ResourceDef } from "../types.js";
import { NODE_FIELD, ObjectIndex } from "./cache-objects.js";
import {
  type EtcdKv,
  isCompacted,
  type KeyValue,
  prefixEnd,
  type WatchCall,
  type WatchEventWire,
  type WatchResponseWire,
} from "./etcd-client.js";
import { decodeKv } from "./keys.js";
import type { Predicate } from "./predicate.js";
import { type CachedEvent, type CacheWatcher, deepFreeze } from "./watcher.js";

export interface CacheOptions {
  historySize: number;
  bookmarkIntervalMs: number;
  /** Counts etcd watch creations, shared by all caches of a store. */
  stats: { etcdWatchCreates: number; etcdWatchStreams: number; decodeErrors: number };
  /**
   * Keep each object's stored bytes and mod_revision, so an update can start from the cache
   * (storedKv) instead of reading the store first. Free with an in-process store, whose values
   * the cache shares; over gRPC it would double the cache's memory.
   */
  retainValues?: boolean;
}

function withRv(obj: KubeObject, rv: number): KubeObject {
  return deepFreeze({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } });
}

export class WatchCache {
  private state: ObjectIndex;
  private history: CachedEvent[] = [];
  private historyHead = 0;
  /** The newest revision the cache reflects. */
  rv = 0;
  /** Watches may start at any revision >= this one (the list revision or the last evicted event). */
  historyStartRv = 0;
  ready = false;
  private started: Promise<void> | undefined;
  private readyWaiters: Array<() => void> = [];
  private rvWaiters: Array<{ rv: number; wake: () => void }> = [];
  private call: WatchCall | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly bookmarkTimer: NodeJS.Timeout;
  private readonly everywhere = new Set<CacheWatcher>();
  private readonly watchersByNamespace = new Map<string, Set<CacheWatcher>>();
  private readonly watchersByNode = new Map<string, Set<CacheWatcher>>();
  private readonly buckets = new Map<
    CacheWatcher,
    { set: Set<CacheWatcher>; index: Map<string, Set<CacheWatcher>>; value: string | undefined }
  >();
  private readonly nodeIndexed: boolean;
  /** The stored form of each cached object, when opts.retainValues. */
  private readonly stored = new WeakMap<KubeObject, { value: Buffer; mod_revision: string }>();

  constructor(
    private readonly client: EtcdKv,
    readonly def: ResourceDef,
    /** The resource's key prefix, ending with "/". */
    readonly prefix: string,
    private readonly opts: CacheOptions,
  ) {
    this.nodeIndexed = def.fields?.supported.includes(NODE_FIELD) ?? false;
    this.state = new ObjectIndex(this.nodeIndexed);
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), opts.bookmarkIntervalMs);
    this.bookmarkTimer.unref();
  }

  get size(): number {
    return this.state.size;
  }

  /** Starts the cache once (list, then watch); resolves when it is ready. Never rejects: it retries. */
  start(): Promise<void> {
    this.started ??= new Promise<void>((resolve) => {
      this.readyWaiters.push(resolve);
      void this.relist(0);
    });
    return this.started;
  }

  /** Waits until ready, or 429 (upstream's answer while a watch cache initializes). */
  async waitReady(timeoutMs: number): Promise<void> {
    void this.start();
    if (this.ready) return;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      this.start().then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!ok) throw tooManyRequests("storage is (re)initializing", 1);
  }

  /** Resolves when the cache reaches `rv` or after `ms`, whichever is first. */
  waitForRv(rv: number, ms: number): Promise<void> {
    if (this.rv >= rv) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { rv, wake: () => resolve() };
      this.rvWaiters.push(waiter);
      setTimeout(() => {
        this.rvWaiters = this.rvWaiters.filter((w) => w !== waiter);
        resolve();
      }, ms).unref();
    });
  }

  private async relist(attempt: number): Promise<void> {
    if (this.closed) return;
    try {
      // Start from a little in the past when etcd still has it, so the watch replays recent events
      // into the history: a client that listed just before this cache started can still watch on.
      const head = await this.client.range({ key: Buffer.from(this.prefix), count_only: true });
      const rewindTo = Math.max(1, Number(head.header.revision) - this.opts.historySize);
      const listed = await this.listAt(rewindTo).catch((err) => {
        if (isCompacted(err)) return this.listAt(0);
        throw err;
      });
      if (this.closed) return;
      const wasReady = this.ready;
      this.replace(listed.state, listed.revision);
      if (wasReady) this.endAllWatchers();
      this.openWatch(listed.revision + 1);
      this.ready = true;
      for (const wake of this.readyWaiters.splice(0)) wake();
    } catch {
      this.retry(() => this.relist(attempt + 1), attempt);
    }
  }

  /** Every object under the prefix at `revision` (0 = latest), read in pages at that one revision. */
  private async listAt(revision: number): Promise<{ state: ObjectIndex; revision: number }> {
    const end = prefixEnd(Buffer.from(this.prefix));
    const state = new ObjectIndex(this.nodeIndexed);
    let start = Buffer.from(this.prefix);
    for (;;) {
      const resp = await this.client.range({ key: start, range_end: end, limit: 10_000, revision });
      if (revision === 0) revision = Number(resp.header.revision);
      for (const kv of resp.kvs) {
        const obj = this.decode(kv);
        if (obj) state.set(kv.key.toString("utf8"), obj);
      }
      if (!resp.more || resp.kvs.length === 0) return { state, revision };
      start = Buffer.concat([resp.kvs[resp.kvs.length - 1]!.key, Buffer.from([0])]);
    }
  }

  private retry(fn: () => void, attempt: number): void {
    if (this.closed) return;
    const delay = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
    this.retryTimer = setTimeout(fn, delay);
    this.retryTimer.unref();
  }

  private replace(state: ObjectIndex, revision: number): void {
    this.state = state;
    this.history = [];
    this.historyHead = 0;
    this.rv = revision;
    this.historyStartRv = revision;
    this.wakeRvWaiters();
  }

  /** After a relist the cache has a gap: every watcher must start over (from its last revision, which will be too old). */
  private endAllWatchers(): void {
    for (const w of this.allWatchers()) w.fail(tooOldResourceVersion(w.resourceVersion, this.historyStartRv));
  }

  private openWatch(fromRevision: number, attempt = 0): void {
    if (this.closed) return;
    this.closeCall();
    const call = this.client.openWatch();
    this.call = call;
    this.opts.stats.etcdWatchCreates++;
    this.opts.stats.etcdWatchStreams++;
    const lost = (compacted: boolean) => {
      if (this.call !== call) return;
      this.closeCall();
      if (compacted) this.retry(() => void this.relist(0), 0);
      else this.retry(() => this.openWatch(this.rv + 1, attempt + 1), attempt);
    };
    call.on("data", (resp: WatchResponseWire) => {
      if (this.call !== call) return;
      if (resp.canceled) {
        lost(resp.compact_revision !== "0" && resp.compact_revision !== "");
        return;
      }
      if (resp.created) attempt = 0;
      for (const e of resp.events) this.apply(e);
    });
    call.on("error", () => lost(false));
    call.on("end", () => lost(false));
    call.write({
      create_request: {
        key: Buffer.from(this.prefix),
        range_end: prefixEnd(Buffer.from(this.prefix)),
        start_revision: String(fromRevision),
      },
    });
  }

  private closeCall(): void {
    const call = this.call;
    if (!call) return;
    this.call = undefined;
    this.opts.stats.etcdWatchStreams--;
    call.cancel();
  }

  private decode(kv: WatchEventWire["kv"]): KubeObject | undefined {
    try {
      const obj = deepFreeze(decodeKv(kv));
      if (this.opts.retainValues) this.stored.set(obj, { value: kv.value, mod_revision: kv.mod_revision });
      return obj;
    } catch {
      this.opts.stats.decodeErrors++;
      return undefined;
    }
  }

  private apply(wire: WatchEventWire): void {
    const key = wire.kv.key.toString("utf8");
    const rv = Number(wire.kv.mod_revision);
    const prev = this.state.get(key);
    let event: CachedEvent | undefined;
    // The etcd3 package's proto renames the enum (Put, Delete); compare loosely to be safe.
    const isDelete = wire.type === 1 || String(wire.type).toUpperCase() === "DELETE";
    if (isDelete) {
      if (prev) {
        this.state.delete(key);
        const gone = withRv(prev, rv);
        event = { type: "DELETED", key, rv, obj: gone, prev, prevAtRv: () => gone };
      }
    } else {
      const obj = this.decode(wire.kv);
      if (obj) {
        this.state.set(key, obj);
        let prevView: KubeObject | undefined;
        event = {
          type: prev ? "MODIFIED" : "ADDED",
          key,
          rv,
          obj,
          prev,
          prevAtRv: () => (prevView ??= withRv(prev ?? obj, rv)),
        };
      }
    }
    if (rv > this.rv) this.rv = rv;
    if (event) {
      this.record(event);
      this.dispatch(event);
    }
    this.wakeRvWaiters();
  }

  private record(e: CachedEvent): void {
    this.history.push(e);
    if (this.history.length - this.historyHead > this.opts.historySize) {
      this.historyStartRv = this.history[this.historyHead]!.rv;
      this.historyHead++;
      if (this.historyHead > 4096 && this.historyHead * 2 > this.history.length) {
        this.history = this.history.slice(this.historyHead);
        this.historyHead = 0;
      }
    }
  }

  private wakeRvWaiters(): void {
    if (this.rvWaiters.length === 0) return;
    const waiting: typeof this.rvWaiters = [];
    for (const w of this.rvWaiters) this.rv >= w.rv ? w.wake() : waiting.push(w);
    this.rvWaiters = waiting;
  }

  private dispatch(e: CachedEvent): void {
    for (const w of this.everywhere) w.offer(e);
    const ns = e.obj.metadata?.namespace;
    const prevNs = e.prev?.metadata?.namespace;
    this.offerTo(this.watchersByNamespace, ns, e);
    if (prevNs !== ns) this.offerTo(this.watchersByNamespace, prevNs, e);
    if (this.nodeIndexed) {
      const node = this.state.nodeOf(e.obj);
      const prevNode = e.prev ? this.state.nodeOf(e.prev) : undefined;
      this.offerTo(this.watchersByNode, node, e);
      if (prevNode !== node) this.offerTo(this.watchersByNode, prevNode, e);
    }
  }

  private offerTo(index: Map<string, Set<CacheWatcher>>, value: string | undefined, e: CachedEvent): void {
    if (value === undefined) return;
    const set = index.get(value);
    if (set) for (const w of set) w.offer(e);
  }

  private sendBookmarks(): void {
    if (!this.ready) return;
    for (const w of this.allWatchers()) w.bookmark(this.rv);
  }

  private allWatchers(): CacheWatcher[] {
    return [...this.buckets.keys()];
  }

  /** Which index a watcher goes into: the most selective of spec.nodeName, namespace, or all. */
  private register(w: CacheWatcher): void {
    const node = this.nodeIndexed ? w.predicate.exactField(NODE_FIELD) : undefined;
    const [index, value] =
      node !== undefined ? [this.watchersByNode, node] : [this.watchersByNamespace, w.predicate.namespace];
    let set = this.everywhere;
    if (value !== undefined) {
      set = index.get(value) ?? new Set();
      index.set(value, set);
    }
    set.add(w);
    this.buckets.set(w, { set, index, value });
  }

  /** Removes a stopped watcher from its index. */
  unregister(w: CacheWatcher): void {
    const bucket = this.buckets.get(w);
    if (!bucket) return;
    this.buckets.delete(w);
    bucket.set.delete(w);
    if (bucket.value !== undefined && bucket.set.size === 0) bucket.index.delete(bucket.value);
  }

  get watcherCount(): number {
    return this.buckets.size;
  }

  /**
   * The key's value and mod_revision as the cache last saw them (possibly behind the store), for
   * an optimistic update whose compare-and-swap catches staleness; undefined when not known.
   */
  storedKv(key: string): KeyValue | undefined {
    if (!this.ready) return undefined;
    const obj = this.state.get(key);
    const kv = obj && this.stored.get(obj);
    if (!kv) return undefined;
    return { key: Buffer.from(key), create_revision: "0", version: "0", ...kv };
  }

  /** A list served from the cache at its revision; items are copies the caller may change. */
  list(pred: Predicate, keyPrefix: string, limit: number | undefined): ListResult {
    return this.state.list(pred, keyPrefix, limit, this.rv);
  }

  /** Watch from the current state: synthetic ADDED for what matches, then live events. */
  watchFromState(w: CacheWatcher, keyPrefix: string, endBookmark: boolean): void {
    const initial = [...this.state.matching(w.predicate, keyPrefix)].map(([, obj]) => obj);
    this.register(w);
    w.begin(this.rv, initial, endBookmark);
  }

  /** Watch from `rv`: the history after it, then live events; 410 when the history no longer reaches back. */
  watchFrom(w: CacheWatcher, rv: number): void {
    if (rv < this.historyStartRv) {
      w.fail(tooOldResourceVersion(rv, this.historyStartRv));
      return;
    }
    this.register(w);
    w.begin(rv, [], false);
    for (let i = this.historyHead; i < this.history.length; i++) {
      const e = this.history[i]!;
      if (e.rv > rv) w.offer(e);
    }
  }

  /** Registers a watcher whose initial state is read elsewhere (etcd); it holds events until begin(). */
  watchHeld(w: CacheWatcher): void {
    w.hold();
    this.register(w);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.bookmarkTimer);
    clearTimeout(this.retryTimer);
    this.closeCall();
    for (const w of this.allWatchers()) w.stop();
    for (const wake of this.readyWaiters.splice(0)) wake();
  }
}
