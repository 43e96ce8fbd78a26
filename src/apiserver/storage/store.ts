// EtcdObjectStore: the ObjectStore over the etcd v3 API. Writes are single-key Txns on
// mod_revision exactly as upstream's etcd3 store sends them; reads go to etcd or, when that is
// allowed and fresh enough, to the resource's watch cache, which also serves every watch.
import type { Registry } from "prom-client";
import { Gauge } from "prom-client";
import { alreadyExists, badRequest, conflict, type KubeObject, notFound } from "../../api/index.js";
import type { KvService } from "../../store/server/types.js";
import type {
  ListOptions,
  ListResult,
  ObjectStore,
  ResourceDef,
  WatchOptions,
  WatchStream,
} from "../types.js";
import { WatchCache } from "./cache.js";
import { Compactor, DEFAULT_COMPACTION_INTERVAL_MS } from "./compactor.js";
import {
  groupResource,
  parseResourceVersion,
  preconditionFailed,
  storageError,
  tooLargeResourceVersion,
} from "./errors.js";
import { EtcdClient, type EtcdKv, type KeyValue } from "./etcd-client.js";
import { listFromEtcd } from "./etcd-list.js";
import { InProcessEtcdClient } from "./inprocess-client.js";
import {
  decodeContinue,
  decodeKv,
  decodeValue,
  encodeObject,
  listPrefix,
  objectKey,
  resourcePrefix,
} from "./keys.js";
import { Predicate } from "./predicate.js";
import { CacheWatcher } from "./watcher.js";

export interface EtcdObjectStoreOptions {
  endpoints: string[];
  /** Key prefix of every object; default "/registry". */
  prefix?: string;
  /** Recent events kept per resource for watches that resume from a resourceVersion; default 10000. */
  historySize?: number;
  /** How often watchers that allow bookmarks get one; default 60 s. */
  bookmarkIntervalMs?: number;
  /** Live events queued for one watcher before it is ended as too slow; default 1000. */
  watcherBufferSize?: number;
  /** How long a read for a resourceVersion newer than the store waits before 504; default 3 s. */
  freshnessTimeoutMs?: number;
  /** Deadline of each etcd request; default 15 s. */
  requestTimeoutMs?: number;
  /** When given, apiserver_storage_objects{resource} is registered here. */
  metricsRegistry?: Registry;
  /** How often etcd is compacted to the revision of the previous round (upstream's 5 min); 0: never. */
  compactionIntervalMs?: number;
  /** Where compaction failures are reported. */
  log?: (message: string) => void;
}

export interface StoreStats {
  /** etcd watch streams open now (one per started resource cache). */
  etcdWatchStreams: number;
  /** etcd watches ever created (initial ones plus resumptions). */
  etcdWatchCreates: number;
  /** Stored values the cache could not decode. */
  decodeErrors: number;
  resources: Array<{
    resource: string;
    objects: number;
    watchers: number;
    resourceVersion: number;
    oldestWatchableRv: number;
  }>;
}

const MAX_UPDATE_ATTEMPTS = 32;

export class EtcdObjectStore implements ObjectStore {
  private readonly caches = new Map<string, WatchCache>();
  private readonly stats_ = { etcdWatchCreates: 0, etcdWatchStreams: 0, decodeErrors: 0 };
  private readonly prefix: string;
  private closed = false;
  private revisionWaiters: Array<{ resolve: (rev: number) => void; reject: (err: Error) => void }> = [];
  private revisionInFlight = false;
  private readonly compactor: Compactor | undefined;

  private constructor(
    private readonly client: EtcdKv,
    private readonly opts: Omit<EtcdObjectStoreOptions, "endpoints">,
    /** Updates start from the watch cache's copy (see guaranteedUpdate); set for in-process stores. */
    private readonly optimisticUpdates = false,
  ) {
    this.prefix = (opts.prefix ?? "/registry").replace(/\/+$/, "");
    const interval = opts.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS;
    if (interval > 0) this.compactor = new Compactor(client, interval, opts.log);
    if (opts.metricsRegistry) {
      const caches = this.caches;
      new Gauge({
        name: "apiserver_storage_objects",
        help: "Number of stored objects at the time of last check split by kind.",
        labelNames: ["resource"],
        registers: [opts.metricsRegistry],
        collect() {
          for (const c of caches.values())
            if (c.ready) this.set({ resource: qualifiedResource(c.def) }, c.size);
        },
      });
    }
  }

  /** Connects lazily (gRPC dials on first use); fails only for malformed endpoints. */
  static connect(opts: EtcdObjectStoreOptions): EtcdObjectStore {
    return new EtcdObjectStore(EtcdClient.connect(opts.endpoints, opts.requestTimeoutMs), opts);
  }

  /**
   * Over a kite store in this process (`kite server`'s embedded one): the same requests, answered
   * by its KvService without gRPC. The store is not closed by close().
   */
  static inProcess(
    service: KvService,
    opts: Omit<EtcdObjectStoreOptions, "endpoints"> = {},
  ): EtcdObjectStore {
    return new EtcdObjectStore(new InProcessEtcdClient(service), opts, true);
  }

  stats(): StoreStats {
    return {
      ...this.stats_,
      resources: [...this.caches.values()].map((c) => ({
        resource: qualifiedResource(c.def),
        objects: c.size,
        watchers: c.watcherCount,
        resourceVersion: c.rv,
        oldestWatchableRv: c.historyStartRv,
      })),
    };
  }

  /**
   * Starts these resources' watch caches now rather than on first use, and waits until they are
   * ready (429 after timeoutMs; they keep retrying in the background).
   */
  async startCaches(defs: readonly ResourceDef[], timeoutMs = 10_000): Promise<void> {
    await Promise.all(defs.map((def) => this.cache(def).waitReady(timeoutMs)));
  }

  /** The resource's watch cache, started on first use. */
  private cache(def: ResourceDef): WatchCache {
    const prefix = `${resourcePrefix(this.prefix, def)}/`;
    let cache = this.caches.get(prefix);
    if (!cache) {
      if (this.closed) throw storageError(new Error("object store is closed"));
      cache = new WatchCache(this.client, def, prefix, {
        historySize: this.opts.historySize ?? 10_000,
        bookmarkIntervalMs: this.opts.bookmarkIntervalMs ?? 60_000,
        stats: this.stats_,
        retainValues: this.optimisticUpdates,
      });
      this.caches.set(prefix, cache);
      void cache.start();
    }
    return cache;
  }

  private async getKv(def: ResourceDef, key: string, name: string): Promise<KeyValue> {
    const resp = await this.client.range({ key: Buffer.from(key) }).catch((err) => {
      throw storageError(err);
    });
    const kv = resp.kvs[0];
    if (!kv) throw notFound(groupResource(def), name);
    return kv;
  }

  /** Txn(If mod_revision(key) == rev Then `then` Else Get(key)). */
  private async casTxn(key: string, rev: string, then: "put" | "delete", value?: Buffer) {
    const k = Buffer.from(key);
    const success =
      then === "put" ? [{ request_put: { key: k, value: value! } }] : [{ request_delete_range: { key: k } }];
    try {
      return await this.client.txn({
        compare: [{ key: k, result: 0, target: 2, mod_revision: rev }],
        success,
        failure: [{ request_range: { key: k } }],
      });
    } catch (err) {
      throw storageError(err);
    }
  }

  async get(def: ResourceDef, namespace: string | undefined, name: string): Promise<KubeObject> {
    const key = objectKey(this.prefix, def, namespace, name);
    this.cache(def);
    return decodeKv(await this.getKv(def, key, name));
  }

  async create(def: ResourceDef, obj: KubeObject): Promise<KubeObject> {
    const name = obj.metadata?.name ?? "";
    const key = objectKey(this.prefix, def, obj.metadata?.namespace, name);
    this.cache(def);
    const value = encodeObject(obj);
    const resp = await this.casTxn(key, "0", "put", value);
    if (!resp.succeeded) throw alreadyExists(groupResource(def), name);
    return decodeValue(value, resp.header.revision);
  }

  async update(def: ResourceDef, obj: KubeObject): Promise<KubeObject> {
    const name = obj.metadata?.name ?? "";
    const rv = parseResourceVersion(obj.metadata?.resourceVersion);
    // Without a resourceVersion (or "0") the update is unconditional, as for kinds whose strategy allows it.
    if (rv === undefined || rv === 0)
      return this.guaranteedUpdate(def, obj.metadata?.namespace, name, () => obj);
    const key = objectKey(this.prefix, def, obj.metadata?.namespace, name);
    this.cache(def);
    const value = encodeObject(obj);
    const resp = await this.casTxn(key, String(rv), "put", value);
    if (resp.succeeded) return decodeValue(value, resp.header.revision);
    if ((resp.responses[0]?.response_range?.kvs.length ?? 0) === 0) throw notFound(groupResource(def), name);
    throw conflict(groupResource(def), name);
  }

  /**
   * Read, mutate, compare-and-swap on mod_revision, retried on conflict. With optimistic updates
   * the first read is the watch cache's copy rather than a quorum read, as upstream's
   * GuaranteedUpdate starts from its cachedExistingObject: a stale copy fails the swap and the
   * retry uses the store's current value from the failed Txn. Because a stale copy could also
   * make `mutate` refuse or look like a no-op, both are only trusted on a value read from the
   * store; otherwise the store is read and mutate runs again.
   */
  async guaranteedUpdate(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
  ): Promise<KubeObject> {
    const key = objectKey(this.prefix, def, namespace, name);
    const cache = this.cache(def);
    const cached = this.optimisticUpdates ? cache.storedKv(key) : undefined;
    let current = cached ?? (await this.getKv(def, key, name));
    let fromStore = cached === undefined;
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      let next: KubeObject;
      try {
        next = await mutate(decodeKv(current));
      } catch (err) {
        if (fromStore) throw err;
        current = await this.getKv(def, key, name);
        fromStore = true;
        continue;
      }
      const value = encodeObject(next);
      // An update that changes nothing is not written, so it bumps no resourceVersion (as upstream).
      if (value.equals(current.value)) {
        if (fromStore) return decodeKv(current);
        current = await this.getKv(def, key, name);
        fromStore = true;
        continue;
      }
      const resp = await this.casTxn(key, current.mod_revision, "put", value);
      if (resp.succeeded) return decodeValue(value, resp.header.revision);
      const latest = resp.responses[0]?.response_range?.kvs[0];
      if (!latest) throw notFound(groupResource(def), name);
      current = latest;
      fromStore = true;
    }
    throw conflict(groupResource(def), name);
  }

  async delete(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    preconditions?: { uid?: string; resourceVersion?: string },
  ): Promise<KubeObject> {
    const key = objectKey(this.prefix, def, namespace, name);
    this.cache(def);
    let current = await this.getKv(def, key, name);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const obj = decodeKv(current);
      const uid = obj.metadata?.uid ?? "";
      if (preconditions?.uid && preconditions.uid !== uid)
        throw preconditionFailed(def, name, key, "UID", preconditions.uid, uid);
      const rv = obj.metadata?.resourceVersion ?? "";
      if (preconditions?.resourceVersion && preconditions.resourceVersion !== rv)
        throw preconditionFailed(def, name, key, "ResourceVersion", preconditions.resourceVersion, rv);
      const resp = await this.casTxn(key, current.mod_revision, "delete");
      if (resp.succeeded) return obj;
      const latest = resp.responses[0]?.response_range?.kvs[0];
      if (!latest) throw notFound(groupResource(def), name);
      current = latest;
    }
    throw conflict(groupResource(def), name);
  }

  async list(def: ResourceDef, opts: ListOptions): Promise<ListResult> {
    const predicate = Predicate.parse(def, opts);
    const keyPrefix = listPrefix(this.prefix, def, predicate.namespace);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
    const cache = this.cache(def);
    const fromEtcd = (revision: number) =>
      listFromEtcd(this.client, { keyPrefix, predicate, limit, revision });
    if (opts.continue) {
      if (opts.resourceVersion)
        throw badRequest("specifying resource version is not allowed when using continue");
      const { key, rv } = decodeContinue(opts.continue, keyPrefix);
      return listFromEtcd(this.client, {
        keyPrefix,
        predicate,
        limit,
        startKey: key,
        revision: rv === -1 ? 0 : rv,
        fromContinue: true,
      });
    }
    const rv = parseResourceVersion(opts.resourceVersion);
    if (opts.resourceVersionMatch === "Exact") {
      if (!rv) throw badRequest('resourceVersionMatch "Exact" requires a resourceVersion greater than 0');
      return fromEtcd(rv);
    }
    if (rv === undefined) {
      // A consistent read: the cache only if it already reflects the store's current revision.
      if (!cache.ready) return fromEtcd(0);
      const current = await this.currentRevision();
      return cache.rv >= current ? cache.list(predicate, keyPrefix, limit) : fromEtcd(current);
    }
    if (rv === 0) return cache.ready ? cache.list(predicate, keyPrefix, limit) : fromEtcd(0);
    return (await this.freshEnough(cache, rv)) === "cache"
      ? cache.list(predicate, keyPrefix, limit)
      : fromEtcd(0);
  }

  /**
   * Where a read "not older than rv" can be served: the cache once it has rv, else etcd once the
   * store has it (the cache may lag on a quiet resource); waits a bounded time, then 504.
   */
  private async freshEnough(cache: WatchCache, rv: number): Promise<"cache" | "etcd"> {
    const deadline = Date.now() + (this.opts.freshnessTimeoutMs ?? 3000);
    for (;;) {
      if (cache.ready && cache.rv >= rv) return "cache";
      const current = await this.currentRevision();
      if (current >= rv) return "etcd";
      const left = deadline - Date.now();
      if (left <= 0) throw tooLargeResourceVersion(rv, current);
      await cache.waitForRv(rv, Math.min(100, left));
    }
  }

  async watch(def: ResourceDef, opts: WatchOptions): Promise<WatchStream> {
    const predicate = Predicate.parse(def, opts);
    const keyPrefix = listPrefix(this.prefix, def, predicate.namespace);
    const rv = parseResourceVersion(opts.resourceVersion);
    const cache = this.cache(def);
    await cache.waitReady(this.opts.freshnessTimeoutMs ?? 3000);
    const watcher = new CacheWatcher(def, predicate, {
      allowBookmarks: opts.allowWatchBookmarks === true,
      bufferSize: this.opts.watcherBufferSize ?? 1000,
      onStop: (w) => cache.unregister(w),
    });
    if (rv !== undefined && rv > 0 && !opts.sendInitialEvents) {
      cache.watchFrom(watcher, rv);
      return watcher;
    }
    // Initial state first: "" is a consistent read (the cache only if it has caught up with the
    // store, else etcd), "0" any state (the cache), N at least N; a streaming list ends with the
    // initial-events-end bookmark.
    const endBookmark = opts.sendInitialEvents === true;
    let source: "cache" | "etcd" = "cache";
    if (rv === undefined) source = cache.rv >= (await this.currentRevision()) ? "cache" : "etcd";
    else if (rv > 0) source = await this.freshEnough(cache, rv);
    if (source === "cache") {
      cache.watchFromState(watcher, keyPrefix, endBookmark);
      return watcher;
    }
    cache.watchHeld(watcher);
    try {
      const listed = await listFromEtcd(this.client, { keyPrefix, predicate, revision: 0 });
      watcher.begin(Number(listed.resourceVersion), listed.items, endBookmark);
      return watcher;
    } catch (err) {
      watcher.stop();
      throw storageError(err);
    }
  }

  /**
   * The store's revision, from a one-key Range (etcd answers it without scanning). Concurrent
   * callers share one request, but only one sent after they asked, so each still reads a
   * revision at least as new as every write that finished before its call.
   */
  private currentRevision(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.revisionWaiters.push({ resolve, reject });
      if (!this.revisionInFlight) this.readRevision();
    });
  }

  private readRevision(): void {
    const batch = this.revisionWaiters.splice(0);
    this.revisionInFlight = true;
    this.client
      .range({ key: Buffer.from(`${this.prefix}/`), count_only: true })
      .then(
        (resp) => {
          for (const w of batch) w.resolve(Number(resp.header.revision));
        },
        (err) => {
          for (const w of batch) w.reject(storageError(err));
        },
      )
      .finally(() => {
        this.revisionInFlight = false;
        if (this.revisionWaiters.length > 0) this.readRevision();
      });
  }

  async currentResourceVersion(): Promise<string> {
    return String(await this.currentRevision());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.compactor?.stop();
    for (const c of this.caches.values()) c.close();
    this.caches.clear();
    this.client.close();
  }
}

function qualifiedResource(def: ResourceDef): string {
  return def.group === "" ? def.resource : `${def.resource}.${def.group}`;
}
