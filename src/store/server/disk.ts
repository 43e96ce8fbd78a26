// The member's data directory, laid out as etcd's: <data-dir>/member/wal and
// <data-dir>/member/snap. A new member is bootstrapped in <data-dir>/member.bootstrap and
// renamed into place, so a crash mid-bootstrap leaves either nothing or a complete member.
// The bootstrap state is a snapshot at index 1, term 1 holding the initial configuration and
// an empty store, identical on every initial member. A restart loads the newest snapshot the
// WAL vouches for and the WAL entries after it.
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type HardState, MemoryStorage, type Snapshot } from "../../raft/index.js";
import { Snapshotter, Wal, type WalOpenResult, WalSnapshotNotFoundError } from "../wal/index.js";
import { fromJsonBytes, toJsonBytes } from "./requestcodec.js";

const SNAP_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

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
 * Opens the WAL from the newest snapshot that is intact and has its marker in the WAL (a
 * snapshot file written just before a crash may lack one). Snapshot names carry term and
 * index, so candidates are tried newest first without scanning the whole log for markers.
 */
async function recover(dataDir: string): Promise<Omit<OpenedDataDir, "bootstrapped">> {
  const dirs = memberDirs(dataDir);
  const snapshotter = await Snapshotter.open(dirs.snap);
  for (const name of await snapshotter.list()) {
    const match = SNAP_NAME.exec(name);
    if (!match) continue;
    const marker = { term: Number.parseInt(match[1]!, 16), index: Number.parseInt(match[2]!, 16) };
    let opened: WalOpenResult;
    try {
      opened = await Wal.open(dirs.wal, marker);
    } catch (err) {
      if (err instanceof WalSnapshotNotFoundError) continue;
      throw err;
    }
    const snapshot = await snapshotter.loadNewestAvailable([marker]);
    if (snapshot === undefined) {
      await opened.wal.close();
      continue;
    }
    const metadata = parseMetadata(opened.metadata, dataDir);
    const storage = new MemoryStorage();
    storage.applySnapshot(snapshot);
    // A snapshot from a leader is committed even if the crash came before the hard state saying so.
    const hs = opened.hardState;
    storage.setHardState({ ...hs, commit: Math.max(hs.commit, snapshot.metadata.index) });
    storage.append(opened.entries);
    return { wal: opened.wal, snapshotter, storage, snapshot, metadata };
  }
  throw new Error(`data dir ${dataDir}: no intact snapshot with a matching WAL marker in ${dirs.snap}`);
}

function parseMetadata(bytes: Uint8Array, dataDir: string): WalMetadata {
  const m = fromJsonBytes(bytes) as Partial<WalMetadata>;
  if (typeof m.memberId !== "number" || typeof m.clusterId !== "bigint") {
    throw new Error(`data dir ${dataDir}: WAL metadata misses the member or cluster id`);
  }
  return { memberId: m.memberId, clusterId: m.clusterId };
}
