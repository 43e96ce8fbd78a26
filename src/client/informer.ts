// Shared informers: one Reflector and one cache per resource (and selector), fanned out to any
// number of event handlers, as client-go's SharedIndexInformer and SharedInformerFactory. A relist
// is diffed against the cache: objects that vanished while the watch was down reach onDelete as
// DeletedFinalStateUnknown tombstones carrying their last known state.
import type { KubeObject, WatchEvent } from "../api/index.js";
import { Indexer, type IndexFunc, Lister, objectKey } from "./cache.js";
import { type Clock, realClock, type TimerHandle } from "./clock.js";
import { type ListerWatcher, Reflector, type ReflectorOptions } from "./reflector.js";
import type { GroupVersionResource, ResourceClient } from "./resource.js";
import type { RestClient } from "./rest.js";

/** An object deleted while the informer was not watching: `obj` is its last known state. */
export class DeletedFinalStateUnknown<T extends KubeObject = KubeObject> {
  constructor(
    readonly key: string,
    readonly obj: T,
  ) {}
}

export interface EventHandler<T extends KubeObject = KubeObject> {
  onAdd?(obj: T, isInInitialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T | DeletedFinalStateUnknown<T>): void;
}

/** The object inside a delete notification, tombstone or not. */
export function deletedObject<T extends KubeObject>(obj: T | DeletedFinalStateUnknown<T>): T {
  return obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
}

export interface InformerOptions extends Omit<ReflectorOptions, "clock"> {
  clock?: Clock;
  indexers?: Record<string, IndexFunc>;
}

interface Registration<T extends KubeObject> {
  handler: EventHandler<T>;
  resync?: TimerHandle;
}

export class SharedIndexInformer<T extends KubeObject = KubeObject> {
  readonly indexer: Indexer<T>;
  readonly lister: Lister<T>;
  readonly reflector: Reflector<T>;
  private readonly handlers: Registration<T>[] = [];
  private readonly clock: Clock;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private started = false;
  private stopped = false;
  private readonly log: (message: string) => void;

  constructor(lw: ListerWatcher<T>, opts: InformerOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? (() => {});
    this.indexer = new Indexer<T>((opts.indexers ?? {}) as Record<string, IndexFunc<T>>);
    this.lister = new Lister(this.indexer);
    this.reflector = new Reflector<T>(
      lw,
      { replace: (items, rv) => this.replace(items, rv), apply: (e) => this.apply(e) },
      { ...opts, clock: this.clock },
    );
  }

  /**
   * Adds a handler; if the cache already holds objects the handler gets onAdd for each first.
   * With resyncMs, onUpdate(obj, obj) is called for every cached object at that period.
   */
  addEventHandler(handler: EventHandler<T>, resyncMs?: number): { remove(): void } {
    const reg: Registration<T> = { handler };
    this.handlers.push(reg);
    if (this.synced) for (const obj of this.indexer.list()) this.call(() => handler.onAdd?.(obj, true));
    if (resyncMs !== undefined && resyncMs > 0) {
      const tick = () => {
        if (this.stopped) return;
        for (const obj of this.indexer.list()) this.call(() => handler.onUpdate?.(obj, obj));
        reg.resync = this.clock.after(resyncMs, tick);
      };
      reg.resync = this.clock.after(resyncMs, tick);
    }
    return {
      remove: () => {
        reg.resync?.cancel();
        const i = this.handlers.indexOf(reg);
        if (i >= 0) this.handlers.splice(i, 1);
      },
    };
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    this.indexer.addIndexers(indexers);
  }

  /** Handler exceptions must not stop the informer; they are logged. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log(`informer event handler failed: ${(err as Error).stack ?? err}`);
    }
  }

  private each(fn: (h: EventHandler<T>) => void): void {
    for (const reg of this.handlers) this.call(() => fn(reg.handler));
  }

  private replace(items: T[], _rv: string): void {
    const initial = !this.synced;
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.indexer.upsert(obj);
      if (old === undefined) this.each((h) => h.onAdd?.(obj, initial));
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
        this.each((h) => h.onUpdate?.(old, obj));
    }
    for (const key of this.indexer.keys()) {
      if (seen.has(key)) continue;
      const old = this.indexer.remove(key)!;
      const tombstone = new DeletedFinalStateUnknown(key, old);
      this.each((h) => h.onDelete?.(tombstone));
    }
    if (initial) {
      this.synced = true;
      for (const wake of this.syncWaiters.splice(0)) wake();
    }
  }

  private apply(event: WatchEvent<T> & { object: T }): void {
    const obj = event.object;
    if (event.type === "DELETED") {
      this.indexer.remove(objectKey(obj));
      this.each((h) => h.onDelete?.(obj));
      return;
    }
    const old = this.indexer.upsert(obj);
    if (old === undefined) this.each((h) => h.onAdd?.(obj, false));
    else this.each((h) => h.onUpdate?.(old, obj));
  }

  run(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.reflector.run();
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once the first list is in the cache, false if the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => resolve(this.synced);
      this.syncWaiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const reg of this.handlers) reg.resync?.cancel();
    for (const wake of this.syncWaiters.splice(0)) wake();
    await this.reflector.stop();
  }
}

/** A ListerWatcher over one resource client. */
export function listerWatcherFor<T extends KubeObject>(client: ResourceClient<T>): ListerWatcher<T> {
  return { list: (opts) => client.list(opts), watch: (opts) => client.watch(opts) };
}

export interface InformerScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export class SharedInformerFactory {
  private readonly informers = new Map<string, SharedIndexInformer>();

  constructor(
    private readonly client: RestClient,
    private readonly opts: Omit<InformerOptions, "labelSelector" | "fieldSelector" | "indexers"> = {},
  ) {}

  /** The one informer for this resource and scope; created on first use, started by start(). */
  forResource<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    scope: InformerScope = {},
  ): SharedIndexInformer<T> {
    const key = JSON.stringify([
      gvr.group,
      gvr.version,
      gvr.resource,
      scope.namespace ?? "",
      scope.labelSelector ?? "",
      scope.fieldSelector ?? "",
    ]);
    let informer = this.informers.get(key);
    if (informer === undefined) {
      const resource = this.client.resource<KubeObject>(gvr, scope.namespace);
      informer = new SharedIndexInformer(listerWatcherFor(resource), {
        ...this.opts,
        name: `${gvr.resource}${gvr.group === "" ? "" : `.${gvr.group}`}`,
        labelSelector: scope.labelSelector,
        fieldSelector: scope.fieldSelector,
      });
      this.informers.set(key, informer);
    }
    return informer as unknown as SharedIndexInformer<T>;
  }

  /** Starts every informer not yet running (call again after adding informers). */
  start(): void {
    for (const informer of this.informers.values()) informer.run();
  }

  /** Resolves true when every informer has synced, false if the signal aborts first. */
  async waitForCacheSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
