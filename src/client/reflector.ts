// The Reflector keeps a store in step with the apiserver as client-go's does: list (first from the
// watch cache with resourceVersion=0, in pages), then watch from the list's resourceVersion with
// bookmarks, re-watch from the last seen resourceVersion when the server ends the stream cleanly,
// and list again when the watch is too old (410 Expired, as an ERROR event or an HTTP answer) or
// breaks. Failures back off 800 ms doubling to 30 s.
import {
  isStatusError,
  type KubeList,
  type KubeObject,
  type Status,
  StatusError,
  type WatchEvent,
} from "../api/index.js";
import { type Clock, realClock, sleep } from "./clock.js";
import type { ListOptions, WatchOptions } from "./resource.js";

/** A stream of watch events that can be cut short (WatchStream is one). */
export interface EventStream<T extends KubeObject = KubeObject> extends AsyncIterable<WatchEvent<T>> {
  stop(): void;
}

export interface ListerWatcher<T extends KubeObject = KubeObject> {
  list(opts: ListOptions): Promise<KubeList<T>>;
  watch(opts: WatchOptions): Promise<EventStream<T>>;
}

/** Where the reflector puts what it learns. */
export interface ReflectorSink<T extends KubeObject = KubeObject> {
  /** The complete set of objects as of resourceVersion (after every list). */
  replace(items: T[], resourceVersion: string): void;
  /** One watch event (ADDED, MODIFIED or DELETED). */
  apply(event: WatchEvent<T> & { object: T }): void;
}

export interface ReflectorOptions {
  /** For log lines. */
  name?: string;
  clock?: Clock;
  /** Items per list page; default 500. */
  pageSize?: number;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch timeout is chosen in [min, 2*min); default 300 s as client-go. */
  minWatchTimeoutSeconds?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  log?: (message: string) => void;
}

function isExpired(err: unknown): boolean {
  return isStatusError(err) && (err.code === 410 || err.reason === "Expired" || err.reason === "Gone");
}

/** Thrown inside the watch loop when the stream asks for a relist. */
class RelistNeeded extends Error {}

export class Reflector<T extends KubeObject = KubeObject> {
  /** The resourceVersion the store reflects ("" before the first list). */
  lastSyncResourceVersion = "";
  /** Lists done so far (the first, and every relist). */
  listCount = 0;
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private current: EventStream<T> | undefined;
  private running: Promise<void> | undefined;
  /** The last list failed because its resourceVersion is gone: list from etcd ("") next time. */
  private rvUnavailable = false;
  private readonly log: (message: string) => void;

  constructor(
    private readonly lw: ListerWatcher<T>,
    private readonly sink: ReflectorSink<T>,
    private readonly opts: ReflectorOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? (() => {});
  }

  /** Starts the list-and-watch loop (once). */
  run(): void {
    this.running ??= this.loop();
  }

  /** Stops watching and waits for the loop to end. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.current?.stop();
    await this.running;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async loop(): Promise<void> {
    const initial = this.opts.initialBackoffMs ?? 800;
    const max = this.opts.maxBackoffMs ?? 30_000;
    let backoff = initial;
    while (!this.stopped) {
      try {
        await this.listAndWatch(() => {
          backoff = initial;
        });
        continue;
      } catch (err) {
        if (this.stopped) break;
        this.log(`${this.opts.name ?? "reflector"}: ${(err as Error).message}; retrying in ${backoff} ms`);
      }
      await sleep(this.clock, backoff, this.abort.signal);
      backoff = Math.min(max, backoff * 2);
    }
  }

  private relistResourceVersion(): string {
    if (this.rvUnavailable) return "";
    return this.lastSyncResourceVersion === "" ? "0" : this.lastSyncResourceVersion;
  }

  private async list(): Promise<{ items: T[]; resourceVersion: string }> {
    const pageSize = this.opts.pageSize ?? 500;
    const selectors = { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
    const items: T[] = [];
    let rv = this.relistResourceVersion();
    let cont: string | undefined;
    let listRv = "";
    for (;;) {
      let page: KubeList<T>;
      try {
        page = await this.lw.list({
          ...selectors,
          limit: pageSize,
          ...(cont === undefined ? { resourceVersion: rv } : { continue: cont }),
        });
      } catch (err) {
        if (!isExpired(err)) throw err;
        // The resourceVersion or continue token is gone: start over with a consistent list.
        if (rv === "" && cont === undefined) throw err;
        this.rvUnavailable = true;
        rv = "";
        cont = undefined;
        items.length = 0;
        continue;
      }
      items.push(...page.items);
      listRv = page.metadata?.resourceVersion ?? listRv;
      cont = page.metadata?.continue || undefined;
      if (cont === undefined) break;
    }
    this.rvUnavailable = false;
    return { items, resourceVersion: listRv };
  }

  private async listAndWatch(onListed: () => void): Promise<void> {
    const listed = await this.list();
    if (this.stopped) return;
    this.listCount++;
    this.sink.replace(listed.items, listed.resourceVersion);
    this.lastSyncResourceVersion = listed.resourceVersion;
    onListed();
    const minTimeout = this.opts.minWatchTimeoutSeconds ?? 300;
    while (!this.stopped) {
      let stream: EventStream<T>;
      try {
        stream = await this.lw.watch({
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          resourceVersion: this.lastSyncResourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: Math.floor(minTimeout * (1 + Math.random())),
        });
      } catch (err) {
        if (isExpired(err)) {
          this.log(
            `${this.opts.name ?? "reflector"}: watch of ${this.lastSyncResourceVersion} expired; relisting`,
          );
          this.rvUnavailable = true;
          return;
        }
        throw err;
      }
      if (this.stopped) {
        stream.stop();
        return;
      }
      this.current = stream;
      try {
        await this.consume(stream);
      } catch (err) {
        if (err instanceof RelistNeeded) {
          this.log(`${this.opts.name ?? "reflector"}: ${err.message}; relisting`);
          this.rvUnavailable = true;
          return;
        }
        // A broken stream: list again from what we have (the watch cache serves it).
        throw err;
      } finally {
        this.current = undefined;
        stream.stop();
      }
    }
  }

  private async consume(stream: EventStream<T>): Promise<void> {
    for await (const event of stream) {
      if (this.stopped) return;
      if (event.type === "ERROR") {
        const status = event.object as Status;
        if (status.code === 410 || status.reason === "Expired" || status.reason === "Gone")
          throw new RelistNeeded(status.message ?? "watch expired");
        throw new StatusError(status);
      }
      const obj = event.object as T;
      const rv = obj.metadata?.resourceVersion;
      if (event.type !== "BOOKMARK") this.sink.apply({ type: event.type, object: obj });
      if (rv) this.lastSyncResourceVersion = rv;
    }
  }
}
