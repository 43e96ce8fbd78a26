// Persisting a state-machine snapshot the driver just took, in etcd's order: the snapshot
// file first, then its WAL marker (so a restart never finds a marker without a file), then
// trimming the in-memory log (keeping catch-up entries for slow followers), releasing WAL
// segments the snapshot covers, and purging old snapshot files.
import type { MemoryStorage, Snapshot } from "../../raft/index.js";
import type { Snapshotter, Wal } from "../wal/index.js";

export async function persistSnapshot(
  snap: Snapshot,
  disk: { snapshotter: Snapshotter; wal: Wal; storage: MemoryStorage },
  catchUpEntries: number,
): Promise<void> {
  const { index, term } = snap.metadata;
  await disk.snapshotter.save(snap);
  await disk.wal.saveSnapshot({ index, term });
  const compactTo = index - catchUpEntries;
  if (compactTo >= disk.storage.firstIndex()) disk.storage.compact(compactTo);
  await disk.wal.releaseTo(index);
  await disk.snapshotter.purge();
}
