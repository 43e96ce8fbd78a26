// The lock that keeps two `kite up` processes off one data directory: <dir>/kite.lock holds the
// owner's pid. A lock whose pid is gone (or is no longer a kite process) is stale and taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `${dataDir} is in use by another kite (pid ${pid}); stop it first (kill -INT ${pid}) or pass another --data-dir`,
    );
  }
}

function isKiteProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // A pid reused by some unrelated program after a crash does not hold the lock.
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.some((a) => /kite|main\.js/.test(a));
  } catch {
    return true;
  }
}

function readPid(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

/** Takes <dataDir>/kite.lock for this process; throws DataDirLockedError if a live kite holds it. */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, "kite.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o644);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return {
        path,
        release() {
          if (readPid(path) === process.pid) unlinkSync(path);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = readPid(path);
    if (pid !== undefined && pid !== process.pid && isKiteProcess(pid))
      throw new DataDirLockedError(dataDir, pid);
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  throw new Error(`could not take ${path}: it keeps reappearing`);
}
