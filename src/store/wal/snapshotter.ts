// State-machine snapshots on disk, one file per snapshot named %016x-%016x.snap (term,
// index), so names sort oldest to newest. A file is written to a temp name, fsynced, renamed
// and the directory fsynced: it is either complete or absent. A file that fails its checks on
// load is renamed *.broken and the next older one is tried, as etcd's snapshotter does.
//
// File layout (little-endian): u32 magic "KSNP", u32 version, u32 metadata length,
// u64 data length, metadata (codec.ts), data, u32 crc32 of everything before it.
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { Snapshot } from "../../raft/types.js";
import {
  CodecError,
  decodeSnapshotMetadata,
  encodeSnapshotMetadata,
  Reader,
  type SnapshotMarker,
  writeU53,
} from "./codec.js";
import {
  consoleLogger,
  createFileDurably,
  fsyncDir,
  hex16,
  removeTempFiles,
  type WalLogger,
} from "./files.js";

const MAGIC = 0x504e534b; // "KSNP" read as u32 LE
const VERSION = 1;
const HEADER_SIZE = 20;
const SNAP_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
export const BROKEN_SUFFIX = ".broken";
export const DEFAULT_SNAPSHOTS_KEPT = 5;

export interface SnapshotterOptions {
  logger?: WalLogger;
  /** How many snapshot files purge() keeps. Default 5. */
  keep?: number;
}

export function snapshotFileName(marker: SnapshotMarker): string {
  return `${hex16(marker.term)}-${hex16(marker.index)}.snap`;
}

export class Snapshotter {
  private readonly logger: WalLogger;
  private readonly keep: number;

  private constructor(
    readonly dir: string,
    options: SnapshotterOptions,
  ) {
    this.logger = options.logger ?? consoleLogger;
    this.keep = options.keep ?? DEFAULT_SNAPSHOTS_KEPT;
    if (!Number.isSafeInteger(this.keep) || this.keep < 1) {
      throw new Error(`snapshotter: keep must be a positive integer, got ${options.keep}`);
    }
  }

  /** Opens (creating if needed) the snapshot directory and clears temp files a crash left. */
  static async open(dir: string, options: SnapshotterOptions = {}): Promise<Snapshotter> {
    const snapshotter = new Snapshotter(dir, options);
    await mkdir(dir, { recursive: true });
    await removeTempFiles(dir);
    return snapshotter;
  }

  /** Writes the snapshot durably. Save it before the WAL's snapshot marker that points at it. */
  async save(snapshot: Snapshot): Promise<void> {
    const { metadata, data } = snapshot;
    if (metadata.index === 0) throw new Error("snapshotter: refusing to save an empty snapshot (index 0)");
    const meta = encodeSnapshotMetadata(metadata);
    const header = Buffer.allocUnsafe(HEADER_SIZE);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt32LE(VERSION, 4);
    header.writeUInt32LE(meta.byteLength, 8);
    writeU53(header, 12, data.byteLength, "snapshot data length");
    const trailer = Buffer.allocUnsafe(4);
    trailer.writeUInt32LE(crc32(data, crc32(meta, crc32(header))), 0);
    const file = await createFileDurably(this.dir, snapshotFileName(metadata), [header, meta, data, trailer]);
    await file.close();
  }

  /** The newest snapshot that passes its checks, or undefined if there is none. */
  async load(): Promise<Snapshot | undefined> {
    return this.loadNewest(() => true);
  }

  /** The newest good snapshot that matches one of the WAL's snapshot markers. */
  async loadNewestAvailable(markers: SnapshotMarker[]): Promise<Snapshot | undefined> {
    const wanted = new Set(markers.map(snapshotFileName));
    return this.loadNewest((name) => wanted.has(name));
  }

  /** Snapshot file names, newest first. */
  async list(): Promise<string[]> {
    const names = (await readdir(this.dir)).filter((n) => SNAP_NAME.test(n));
    return names.sort().reverse();
  }

  /** Deletes all but the newest `keep` snapshot files; returns the names deleted. */
  async purge(keep = this.keep): Promise<string[]> {
    const doomed = (await this.list()).slice(keep);
    for (const name of doomed) await rm(join(this.dir, name));
    if (doomed.length > 0) await fsyncDir(this.dir);
    return doomed;
  }

  private async loadNewest(accept: (name: string) => boolean): Promise<Snapshot | undefined> {
    for (const name of await this.list()) {
      if (!accept(name)) continue;
      const path = join(this.dir, name);
      try {
        return decodeSnapshotFile(await readFile(path), name);
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        this.logger.warn(
          `snapshotter: ${path} is broken (${err.message}); renaming it to ${name}${BROKEN_SUFFIX}`,
        );
        await rename(path, path + BROKEN_SUFFIX);
        await fsyncDir(this.dir);
      }
    }
    return undefined;
  }
}

/** Decodes and verifies a snapshot file; throws CodecError when it is damaged. */
export function decodeSnapshotFile(bytes: Buffer, name: string): Snapshot {
  if (bytes.length < HEADER_SIZE + 4) throw new CodecError(`file is ${bytes.length} bytes, too short`);
  const body = bytes.subarray(0, bytes.length - 4);
  const stored = bytes.readUInt32LE(bytes.length - 4);
  const actual = crc32(body);
  if (stored !== actual) {
    throw new CodecError(`crc mismatch (expected ${stored.toString(16)}, got ${actual.toString(16)})`);
  }
  const r = new Reader(body, "snapshot file");
  if (r.u32("magic") !== MAGIC) throw new CodecError("bad magic number");
  const version = r.u32("version");
  if (version !== VERSION) throw new CodecError(`unsupported version ${version}`);
  const metaLength = r.u32("metadata length");
  const dataLength = r.u53("data length");
  const metadata = decodeSnapshotMetadata(r.bytes(metaLength, "metadata"));
  const data = r.view(dataLength, "data");
  r.end();
  if (snapshotFileName(metadata) !== name) {
    throw new CodecError(
      `holds term ${metadata.term} index ${metadata.index}, which does not match its name`,
    );
  }
  return { metadata, data };
}
