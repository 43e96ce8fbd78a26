// File-system helpers shared by the WAL and the snapshotter: names, directory fsync, and
// writing a whole file durably (temp file, fsync, rename, directory fsync).
import { constants } from "node:fs";
import { type FileHandle, open, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";

export interface WalLogger {
  warn(message: string): void;
}

export const consoleLogger: WalLogger = { warn: (message) => console.warn(message) };

export const TEMP_SUFFIX = ".tmp";

/** O_EXCL so a leftover temp file is never appended to. */
export const CREATE_EXCLUSIVE_APPEND =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND;

export function hex16(n: number): string {
  return n.toString(16).padStart(16, "0");
}

export interface SegmentFile {
  seq: number;
  /** Raft index of the first entry expected in the segment (last index + 1 when it was cut). */
  firstIndex: number;
  name: string;
}

const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

export function parseSegmentName(name: string): SegmentFile | undefined {
  const m = SEGMENT_NAME.exec(name);
  if (!m) return undefined;
  const seq = Number.parseInt(m[1]!, 16);
  const firstIndex = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { seq, firstIndex, name };
}

/** Segment files in dir, by sequence number. */
export async function listSegments(dir: string): Promise<SegmentFile[]> {
  const segments: SegmentFile[] = [];
  for (const name of await readdir(dir)) {
    const seg = parseSegmentName(name);
    if (seg) segments.push(seg);
  }
  return segments.sort((a, b) => a.seq - b.seq);
}

/** Makes creations, renames and deletions in dir durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeAll(handle: FileHandle, buf: Uint8Array): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesWritten } = await handle.write(buf, done, buf.byteLength - done);
    done += bytesWritten;
  }
}

/**
 * Creates dir/name with the given bytes so that it either exists complete or not at all, and
 * returns a handle left open for appending (the caller closes it).
 */
export async function createFileDurably(
  dir: string,
  name: string,
  chunks: Uint8Array[],
): Promise<FileHandle> {
  const temp = join(dir, name + TEMP_SUFFIX);
  await rm(temp, { force: true });
  const handle = await open(temp, CREATE_EXCLUSIVE_APPEND, 0o600);
  try {
    if (chunks.length > 0) await handle.writev(chunks);
    await handle.sync();
    await rename(temp, join(dir, name));
    await fsyncDir(dir);
    return handle;
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
}

/** Removes temp files a crash left behind in dir. */
export async function removeTempFiles(dir: string): Promise<void> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(TEMP_SUFFIX));
  for (const name of names) await rm(join(dir, name), { force: true });
  if (names.length > 0) await fsyncDir(dir);
}
