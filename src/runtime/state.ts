import { randomBytes } from "node:crypto";
import { open, readdir, readFile, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Writes JSON so a crash leaves either the old or the new file, never a torn one: tmp + fsync + rename + dir fsync.
 *  The directory must exist: a late write must not bring back a directory that was just removed. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(value, null, 1)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dh = await open(dir, "r").catch(() => undefined);
  if (dh)
    await dh
      .sync()
      .catch(() => undefined)
      .finally(() => dh.close());
}

/** Reads a JSON file; undefined when it is missing or unreadable (a half-created directory after a crash). */
export async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

export async function listDirs(path: string): Promise<string[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** Serializes writes to one file and coalesces bursts: only the newest value waits behind a running write. */
export class JsonFile {
  private running: Promise<void> | undefined;
  private pending:
    | { value: unknown; waiters: Array<{ ok: () => void; fail: (e: unknown) => void }> }
    | undefined;

  constructor(readonly path: string) {}

  write(value: unknown): Promise<void> {
    return new Promise((ok, fail) => {
      if (this.pending) {
        this.pending.value = value;
        this.pending.waiters.push({ ok, fail });
      } else {
        this.pending = { value, waiters: [{ ok, fail }] };
      }
      if (!this.running) this.running = this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const { value, waiters } = this.pending;
      this.pending = undefined;
      try {
        await writeJsonAtomic(this.path, value);
        for (const w of waiters) w.ok();
      } catch (e) {
        for (const w of waiters) w.fail(e);
      }
    }
    this.running = undefined;
  }
}
