// The driver's snapshot bookkeeping: saving a snapshot received from the leader before
// anything that depends on it (file, then WAL marker), taking a state-machine snapshot every
// snapshotCount applied entries and persisting it in the background (snapshots.ts), making
// the snapshot a MsgSnap carries, and the log's shape for tests and tooling.
import type { ConfState, MemoryStorage, Message, Snapshot } from "../../raft/index.js";
import type { Snapshotter, Wal } from "../wal/index.js";
import type { ServerMetrics } from "./metrics.js";
import { persistSnapshot } from "./snapshots.js";

export class SnapshotKeeper {
  /** Index of the newest snapshot taken or installed. */
  snapshotIndex: number;
  private saving: Promise<void> | undefined;

  constructor(
    private readonly disk: { snapshotter: Snapshotter; wal: Wal; storage: MemoryStorage },
    private readonly opts: { snapshotCount: number; snapshotCatchUpEntries: number },
    private readonly metrics: ServerMetrics,
    private readonly fail: (err: unknown) => void,
    initialIndex: number,
  ) {
    this.snapshotIndex = initialIndex;
  }

  /** A snapshot from the leader: durable (file, then its WAL marker) before it is installed. */
  async saveReceived(snap: Snapshot): Promise<void> {
    await this.disk.snapshotter.save(snap);
    await this.disk.wal.saveSnapshot({ index: snap.metadata.index, term: snap.metadata.term });
  }

  /**
   * The MsgSnap actually sent: as etcd's createMergedSnapshotMessage, it carries the state as
   * applied now, with the current configuration, instead of the older snapshot Raft picked
   * from storage. A member added after that snapshot would not find itself in its
   * configuration and Raft would refuse to restore it.
   */
  merged(m: Message, applied: number, confState: ConfState, data: () => Uint8Array): Message {
    const term = this.disk.storage.term(applied);
    return { ...m, snapshot: { metadata: { index: applied, term, confState }, data: data() } };
  }

  installed(index: number): void {
    this.snapshotIndex = index;
  }

  /** Every snapshotCount applied entries: snapshot the state machine, then trim log and WAL. */
  maybeSnapshot(applied: number, confState: ConfState, data: () => Uint8Array): void {
    if (this.saving !== undefined || applied - this.snapshotIndex < this.opts.snapshotCount) return;
    const started = performance.now();
    const snap = this.disk.storage.createSnapshot(applied, confState, data());
    this.snapshotIndex = applied;
    this.saving = persistSnapshot(snap, this.disk, this.opts.snapshotCatchUpEntries)
      .then(() => this.metrics.snapshotSaveDuration.observe((performance.now() - started) / 1000))
      .catch((err) => this.fail(err))
      .finally(() => {
        this.saving = undefined;
      });
  }

  /** Waits for an in-flight snapshot save to finish (tests, shutdown). */
  async settled(): Promise<void> {
    await this.saving;
  }

  logState(): { firstIndex: number; lastIndex: number; snapshotIndex: number; walSegments: string[] } {
    return {
      firstIndex: this.disk.storage.firstIndex(),
      lastIndex: this.disk.storage.lastIndex(),
      snapshotIndex: this.snapshotIndex,
      walSegments: this.disk.wal.segmentNames(),
    };
  }
}
