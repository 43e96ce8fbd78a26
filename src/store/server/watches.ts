// Bridges the MVCC watch hub to callers: catches up watchers that replay history or were
// backed up, and produces progress notifications (requested ones, and etcd's periodic ones for
// watchers created with progress_notify that saw no events for an interval).
import type { MvccStore, WatchHub } from "../mvcc/index.js";
import { toStoreError } from "./errors.js";
import type { WatchCreateRequest, WatchEventSink, WatchHandle } from "./types.js";

interface WatchEntry {
  sink: WatchEventSink;
  progressNotify: boolean;
  /** Whether anything was delivered since the last periodic progress check. */
  deliveredRecently: boolean;
}

export class WatchBridge {
  private readonly entries = new Map<number, WatchEntry>();
  private readonly progressWanted = new Set<number>();
  private syncScheduled = false;
  private progressTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: MvccStore,
    progressIntervalMs: number,
  ) {
    this.progressTimer = setInterval(() => this.periodicProgress(), progressIntervalMs);
    this.progressTimer.unref();
  }

  private get hub(): WatchHub {
    return this.store.watchHub;
  }

  get size(): number {
    return this.entries.size;
  }

  watch(req: WatchCreateRequest, sink: WatchEventSink): WatchHandle {
    const entry: WatchEntry = { sink, progressNotify: req.progressNotify === true, deliveredRecently: false };
    let id: number;
    try {
      id = this.hub.watch(
        {
          key: req.key,
          rangeEnd: req.rangeEnd,
          startRevision: req.startRevision,
          prevKv: req.prevKv,
          filters: req.filters,
        },
        (resp) => {
          entry.deliveredRecently = true;
          if (resp.canceled) this.forget(resp.watchId);
          return entry.sink(resp);
        },
      );
    } catch (err) {
      throw toStoreError(err);
    }
    this.entries.set(id, entry);
    if (!this.hub.isSynced(id)) this.scheduleSync();
    return {
      id,
      cancel: () => {
        this.forget(id);
        this.hub.cancel(id);
      },
      resume: () => {
        if (!this.entries.has(id)) return;
        this.hub.resume(id);
        this.scheduleSync();
      },
      requestProgress: () => {
        if (!this.entries.has(id)) return;
        this.progressWanted.add(id);
        this.deliverProgress();
      },
    };
  }

  /** The current revision if all the given watchers are caught up (etcd's progress-all check). */
  progress(ids: Iterable<number>): number | undefined {
    return this.hub.progress(ids);
  }

  /** Catches up watchers and answers progress requests that were waiting for that. */
  sync(): void {
    if (this.hub.pending > 0) {
      if (this.hub.syncWatchers() > 0) this.scheduleSync();
    }
    this.deliverProgress();
  }

  close(): void {
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progressTimer = undefined;
    for (const id of [...this.entries.keys()]) this.hub.cancel(id);
    this.entries.clear();
    this.progressWanted.clear();
  }

  private forget(id: number): void {
    this.entries.delete(id);
    this.progressWanted.delete(id);
  }

  private scheduleSync(): void {
    if (this.syncScheduled) return;
    this.syncScheduled = true;
    setImmediate(() => {
      this.syncScheduled = false;
      this.sync();
    });
  }

  private deliverProgress(): void {
    for (const id of [...this.progressWanted]) {
      const entry = this.entries.get(id);
      if (entry === undefined) {
        this.progressWanted.delete(id);
        continue;
      }
      const rev = this.hub.progress([id]);
      if (rev === undefined) continue;
      this.progressWanted.delete(id);
      entry.sink({ watchId: id, revision: rev, events: [] });
    }
  }

  private periodicProgress(): void {
    for (const [id, entry] of this.entries) {
      if (!entry.progressNotify) continue;
      if (!entry.deliveredRecently) this.progressWanted.add(id);
      entry.deliveredRecently = false;
    }
    this.deliverProgress();
  }
}
