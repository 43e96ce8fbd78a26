// The member's data directory, laid out as etcd's: <data-dir>/member/wal and
// <data-dir>/member/snap. A new member is bootstrapped in <data-dir>/member.bootstrap and
// renamed into place, so a crash mid-bootstrap leaves either nothing or a complete member.
// The bootstrap state is a snapshot at index 1, term 1 holding the initial configuration and
// an empty store, identical on every initial member. A restart loads the newest snapshot the
// WAL vouches for and the WAL entries after it.
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type HardState, MemoryStorage, type Snapshot } from "../../raft/index.js";
import { Snapshotter, Wal } from "../wal/index.js";
import { fromJsonBytes, toJsonBytes } from "./requestcodec.js";

export interface WalMetadata {
  memberId: number;
  clusterId: bigint;
}

export interface OpenedDataDir {
  wal: Wal;
  snapshotter: Snapshotter;
  storage: MemoryStorage;
  /** The snapshot the state machine starts from. */
  snapshot: Snapshot;
  metadata: WalMetadata;
  /** True when this call created the member. */
  bootstrapped: boolean;
}

export function memberDirs(dataDir: string): { member: string; wal: string; snap: string } {
  const member = join(dataDir, "member");
  return { member, wal: join(member, "wal"), snap: join(member, "snap") };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/**
 * Opens the member in dataDir, bootstrapping it from `initial` when it does not exist yet.
 * `initial()` is only called for a new member.
 */
export async function openDataDir(
  dataDir: string,
  initial: () => { metadata: WalMetadata; snapshot: Snapshot },
): Promise<OpenedDataDir> {
  const dirs = memberDirs(dataDir);
  const staging = join(dataDir, "member.bootstrap");
  await rm(staging, { recursive: true, force: true });
  let bootstrapped = false;
  if (!(await Wal.exists(dirs.wal))) {
    if (await exists(dirs.member)) {
      throw new Error(`data dir ${dataDir}: ${dirs.member} exists but holds no WAL; refusing to start`);
    }
    await bootstrap(dataDir, staging, initial());
    bootstrapped = true;
  }
  return { ...(await recover(dataDir)), bootstrapped };
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes the member into `staging` (laid out as the member dir) and renames it into place. */
async function bootstrap(
  dataDir: string,
  staging: string,
  init: { metadata: WalMetadata; snapshot: Snapshot },
): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const walDir = join(staging, "wal");
  const snapDir = join(staging, "snap");
  const snapshotter = await Snapshotter.open(snapDir);
  await snapshotter.save(init.snapshot);
  const wal = await Wal.create(walDir, toJsonBytes(init.metadata));
  const { index, term } = init.snapshot.metadata;
  await wal.saveSnapshot({ index, term });
  const hardState: HardState = { term, vote: 0, commit: index };
  await wal.save(hardState, [], true);
  await wal.close();
  await rename(staging, memberDirs(dataDir).member);
  await fsyncDir(dataDir);
}

/**
 * Opens the WAL from the newest snapshot that is intact and vouched for by a WAL marker at or
 * below the last committed index (etcd's ValidSnapshotEntries + LoadNewestAvailable): a
 * snapshot file written just before a crash may lack its marker or its hard state.
 */
async function recover(dataDir: string): Promise<Omit<OpenedDataDir, "bootstrapped">> {
  const dirs = memberDirs(dataDir);
  const snapshotter = await Snapshotter.open(dirs.snap);
  const snapshot = await snapshotter.loadNewestAvailable(await Wal.snapshotMarkers(dirs.wal));
  if (snapshot === undefined) {
    throw new Error(`data dir ${dataDir}: no intact snapshot with a matching WAL marker in ${dirs.snap}`);
  }
  const { index, term } = snapshot.metadata;
  const opened = await Wal.open(dirs.wal, { index, term });
  const metadata = parseMetadata(opened.metadata, dataDir);
  const storage = new MemoryStorage();
  storage.applySnapshot(snapshot);
  storage.setHardState(opened.hardState);
  storage.append(opened.entries);
  return { wal: opened.wal, snapshotter, storage, snapshot, metadata };
}

function parseMetadata(bytes: Uint8Array, dataDir: string): WalMetadata {
  const m = fromJsonBytes(bytes) as Partial<WalMetadata>;
  if (typeof m.memberId !== "number" || typeof m.clusterId !== "bigint") {
    throw new Error(`data dir ${dataDir}: WAL metadata misses the member or cluster id`);
  }
  return { memberId: m.memberId, clusterId: m.clusterId };
}
