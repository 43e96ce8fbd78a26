// Watchers over the store, after etcd's watchableStore: "synced" watchers get each committed
// revision as it happens; "unsynced" ones (started in the past, or recovering from backpressure)
// are caught up from the change log in bounded steps by syncWatchers(); "parked" ones told us
// their sink is full and wait for resume(). A watcher that falls behind the compact revision
// gets a compacted, canceled response.
import type { ChangeLog } from "./changelog.js";
import { keyId, rangeBounds } from "./keyindex.js";
import { type Event, MvccError, type WatchRequest, type WatchResponse, type WatchSink } from "./types.js";

/** What the hub reads from the store. */
export interface WatchSource {
  readonly revision: number;
  readonly compactRevision: number;
  readonly changes: ChangeLog;
}

type WatcherState = "synced" | "unsynced" | "parked";

class Watcher {
  state: WatcherState = "unsynced";
  constructor(
    readonly id: number,
    readonly lo: string,
    /** Exclusive upper bound; undefined = unbounded; null = the single key lo. */
    readonly hi: string | undefined | null,
    readonly startRev: number,
    /** Next revision this watcher has not seen yet. */
    public minRev: number,
    readonly prevKv: boolean,
    readonly noPut: boolean,
    readonly noDelete: boolean,
    readonly sink: WatchSink,
  ) {}

  matches(id: string): boolean {
    if (this.hi === null) return id === this.lo;
    return id >= this.lo && (this.hi === undefined || id < this.hi);
  }
}

/** Default per-watcher cap on events per catch-up delivery (whole revisions are never split). */
export const DEFAULT_SYNC_EVENTS_PER_WATCHER = 1000;

export class WatchHub {
  private nextId = 1;
  private readonly watchers = new Map<number, Watcher>();
  private readonly syncedByKey = new Map<string, Set<Watcher>>();
  private readonly syncedRanges = new Set<Watcher>();
  private syncedCount = 0;
  private readonly unsynced = new Set<Watcher>();

  /** Told about sinks that threw; their watchers are canceled. */
  onSinkError: ((watchId: number, err: unknown) => void) | undefined;

  constructor(private readonly src: WatchSource) {}

  /** Number of live watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** Watchers waiting for syncWatchers() (parked ones excluded). */
  get pending(): number {
    return this.unsynced.size;
  }

  /**
   * Registers a watcher and returns its id. With startRevision <= current revision it replays
   * history, delivered by the next syncWatchers() call(s); otherwise it only sees new revisions.
   */
  watch(req: WatchRequest, sink: WatchSink): number {
    if (req.key === undefined || req.key.length === 0) throw new MvccError("EMPTY_KEY");
    const { lo, hi } = rangeBounds(req.key, req.rangeEnd);
    const start = req.startRevision ?? 0;
    const cur = this.src.revision;
    const synced = start === 0 || start > cur;
    const filters = req.filters ?? [];
    const w = new Watcher(
      this.nextId++,
      lo,
      hi,
      start,
      synced ? Math.max(cur + 1, start) : start,
      !!req.prevKv,
      filters.includes("NOPUT"),
      filters.includes("NODELETE"),
      sink,
    );
    this.watchers.set(w.id, w);
    if (synced) this.addSynced(w);
    else this.unsynced.add(w);
    return w.id;
  }

  /** Removes a watcher; returns false if it did not exist (already canceled or compacted). */
  cancel(id: number): boolean {
    const w = this.watchers.get(id);
    if (w === undefined) return false;
    this.detach(w);
    this.watchers.delete(id);
    return true;
  }

  /** Un-parks a watcher whose sink drained; it is caught up by the next syncWatchers(). */
  resume(id: number): void {
    const w = this.watchers.get(id);
    if (w === undefined) throw new MvccError("WATCH_NOT_FOUND");
    if (w.state !== "parked") return;
    w.state = "unsynced";
    this.unsynced.add(w);
  }

  isSynced(id: number): boolean {
    return this.watchers.get(id)?.state === "synced";
  }

  /**
   * For progress notifications: the current revision if every listed watcher is synced and has
   * reached its start revision (etcd's progressIfSync), else undefined (try again later).
   */
  progress(ids: Iterable<number>): number | undefined {
    const rev = this.src.revision;
    for (const id of ids) {
      const w = this.watchers.get(id);
      if (w === undefined || w.state !== "synced" || rev < w.startRev) return undefined;
    }
    return rev;
  }

  /** Called by the store after it committed revision rev with changes [from, to) of its log. */
  notify(rev: number, from: number, to: number): void {
    if (this.syncedCount === 0) return;
    const log = this.src.changes;
    let batches: Map<Watcher, Event[]> | undefined;
    for (let i = from; i < to; i++) {
      const id = keyId(log.rec(i).key);
      const exact = this.syncedByKey.get(id);
      if (exact !== undefined) {
        for (const w of exact) batches = addEvent(batches, w, log, i);
      }
      for (const w of this.syncedRanges) {
        if (w.matches(id)) batches = addEvent(batches, w, log, i);
      }
    }
    if (batches === undefined) return;
    for (const [w, events] of batches) {
      // A sink may cancel watchers while we deliver.
      if (w.state !== "synced" || !this.watchers.has(w.id)) continue;
      if (rev < w.minRev) continue;
      w.minRev = rev + 1;
      if (events.length === 0) continue;
      if (!this.deliver(w, { watchId: w.id, revision: rev, events })) {
        if (this.watchers.has(w.id)) this.park(w);
      }
    }
  }

  /**
   * Catches up unsynced watchers from the change log. Scans at most about `budget` changes in
   * total (always finishing the revision it is in) and sends each watcher at most
   * `eventsPerWatcher` events per call, so one call stays bounded. Returns how many watchers still
   * need syncing; the server calls this periodically (e.g. every 10-100 ms) while that is > 0,
   * and after creating a watcher that replays history.
   */
  syncWatchers(budget = 10_000, eventsPerWatcher = DEFAULT_SYNC_EVENTS_PER_WATCHER): number {
    const log = this.src.changes;
    const cur = this.src.revision;
    const compactRev = this.src.compactRevision;
    for (const w of [...this.unsynced]) {
      if (budget <= 0) break;
      if (w.state !== "unsynced") continue;
      this.unsynced.delete(w);
      if (w.minRev < compactRev) {
        this.watchers.delete(w.id);
        this.deliver(w, {
          watchId: w.id,
          revision: cur,
          events: [],
          compactRevision: compactRev,
          canceled: true,
        });
        continue;
      }
      const events: Event[] = [];
      let i = log.seek(w.minRev);
      const end = log.end;
      let scanned = 0;
      while (i < end) {
        const rev = log.rec(i).modRevision;
        // Take the whole revision.
        for (; i < end && log.rec(i).modRevision === rev; i++, scanned++) {
          const kv = log.rec(i);
          if (w.matches(keyId(kv.key))) pushEvent(events, w, log, i);
        }
        w.minRev = rev + 1;
        if (events.length >= eventsPerWatcher || scanned >= budget) break;
      }
      budget -= scanned;
      const caughtUp = i >= end;
      if (caughtUp) w.minRev = Math.max(w.minRev, cur + 1);
      let ready = true;
      if (events.length > 0) ready = this.deliver(w, { watchId: w.id, revision: cur, events });
      if (!this.watchers.has(w.id)) continue;
      if (!ready) w.state = "parked";
      else if (caughtUp) this.addSynced(w);
      else this.unsynced.add(w);
    }
    return this.unsynced.size;
  }

  /** After the store's state was replaced by a snapshot: every watcher re-syncs from its position. */
  onRestore(): void {
    for (const w of this.watchers.values()) {
      if (w.state !== "synced") continue;
      this.detach(w);
      this.unsynced.add(w);
    }
  }

  /**
   * Calls the sink. A sink that throws loses its watcher (reported to onSinkError) instead of
   * failing the store write that triggered the delivery.
   */
  private deliver(w: Watcher, resp: WatchResponse): boolean {
    try {
      return w.sink(resp);
    } catch (err) {
      this.cancel(w.id);
      this.onSinkError?.(w.id, err);
      return true;
    }
  }

  private park(w: Watcher): void {
    this.detach(w);
    w.state = "parked";
  }

  private addSynced(w: Watcher): void {
    w.state = "synced";
    this.syncedCount++;
    if (w.hi === null) {
      let set = this.syncedByKey.get(w.lo);
      if (set === undefined) this.syncedByKey.set(w.lo, (set = new Set()));
      set.add(w);
    } else this.syncedRanges.add(w);
  }

  /** Takes w out of whichever group holds it (state is left for the caller to set). */
  private detach(w: Watcher): void {
    if (w.state === "unsynced") this.unsynced.delete(w);
    else if (w.state === "synced") {
      this.syncedCount--;
      if (w.hi === null) {
        const set = this.syncedByKey.get(w.lo);
        set?.delete(w);
        if (set?.size === 0) this.syncedByKey.delete(w.lo);
      } else this.syncedRanges.delete(w);
    }
    w.state = "unsynced";
  }
}

function addEvent(
  batches: Map<Watcher, Event[]> | undefined,
  w: Watcher,
  log: ChangeLog,
  i: number,
): Map<Watcher, Event[]> {
  const b = batches ?? new Map<Watcher, Event[]>();
  let events = b.get(w);
  if (events === undefined) b.set(w, (events = []));
  pushEvent(events, w, log, i);
  return b;
}

function pushEvent(events: Event[], w: Watcher, log: ChangeLog, i: number): void {
  const kv = log.rec(i);
  const isDelete = kv.version === 0;
  if (isDelete ? w.noDelete : w.noPut) return;
  const ev: Event = { type: isDelete ? "DELETE" : "PUT", kv };
  if (w.prevKv) {
    const prev = log.prev(i);
    if (prev !== undefined) ev.prevKv = prev;
  }
  events.push(ev);
}
