// Container logs in the CRI format the kubelet and `kubectl logs` read:
//   2016-10-06T00:17:09.669794202Z stdout F content
// "P" marks a line split because it passed 16 KiB; rotation renames base → .1 → .2 … as the
// kubelet's log manager does, keeping logMaxFiles files in total.
import { readdirSync } from "node:fs";
import { type FileHandle, mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { Readable } from "node:stream";

export const MAX_LOG_LINE_BYTES = 16 * 1024;
/** Pause the container's pipes above this much unwritten log; resume below a quarter of it. */
const HIGH_WATER = 1024 * 1024;
const MAX_WRITE = 64 * 1024;

export interface CriLogLine {
  time: Date;
  stream: "stdout" | "stderr";
  partial: boolean;
  content: string;
}

let lastStamp = 0n;

/** RFC3339Nano in UTC with nine digits, like containerd writes; strictly increasing within this process,
 *  so lines of one log never go back in time even when two arrive within a microsecond. */
export function criTimestamp(at?: Date): string {
  let ns: bigint;
  if (at) {
    ns = BigInt(at.getTime()) * 1_000_000n;
  } else {
    ns = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor((performance.now() % 1) * 1000)) * 1000n;
    if (ns <= lastStamp) ns = lastStamp + 1n;
    lastStamp = ns;
  }
  const ms = Number(ns / 1_000_000n);
  const subMs = String(ns % 1_000_000n).padStart(6, "0");
  return `${new Date(ms).toISOString().slice(0, -1)}${subMs}Z`;
}

const LINE = /^(\S+) (stdout|stderr) ([^ \n]+)(?: (.*))?$/s;

export function parseCriLogLine(line: string): CriLogLine | undefined {
  if (typeof line !== "string") return undefined;
  const text = line.endsWith("\n") ? line.slice(0, -1) : line;
  const m = LINE.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(m[1]!);
  if (Number.isNaN(ms)) return undefined;
  const tags = m[3]!.split(":");
  if (tags[0] !== "P" && tags[0] !== "F") return undefined;
  return {
    time: new Date(ms),
    stream: m[2] as "stdout" | "stderr",
    partial: tags[0] === "P",
    content: m[4] ?? "",
  };
}

/** Files of one container's log, oldest first: "<logPath>.<n>" ... "<logPath>.1", "<logPath>" (existing ones only). */
export function logFilesOldestFirst(logPath: string): string[] {
  const base = basename(logPath);
  let names: string[];
  try {
    names = readdirSync(dirname(logPath));
  } catch {
    return [];
  }
  const rotated: number[] = [];
  let hasBase = false;
  for (const name of names) {
    if (name === base) hasBase = true;
    else if (name.startsWith(`${base}.`)) {
      const suffix = name.slice(base.length + 1);
      if (/^[1-9]\d{0,5}$/.test(suffix)) rotated.push(Number(suffix));
    }
  }
  rotated.sort((a, b) => b - a);
  const out = rotated.map((n) => `${logPath}.${n}`);
  if (hasBase) out.push(logPath);
  return out;
}

/** Writes a container's stdout and stderr to its log file off the event loop's critical path:
 *  lines queue in memory and are written in batches; past HIGH_WATER the pipes are paused, so a
 *  chatty container blocks on its own pipe instead of growing kite's memory. */
export class CriLogWriter {
  private fh: FileHandle | undefined;
  private size = 0;
  private queue: Buffer[] = [];
  private head = 0;
  private queued = 0;
  private flushing: Promise<void> | undefined;
  private readonly sources = new Set<Readable>();
  private paused = false;
  private failed = false;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
    private readonly log: (m: string) => void = () => {},
    private readonly highWater = HIGH_WATER,
  ) {}

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.fh = await open(this.path, "a", 0o640);
    this.size = (await stat(this.path)).size;
  }

  /** Reads a stream until it ends; resolves then (after its last unterminated line is queued as F). */
  attach(stream: Readable, name: "stdout" | "stderr"): Promise<void> {
    this.sources.add(stream);
    if (this.paused) stream.pause();
    let pending: Buffer = Buffer.alloc(0);
    return new Promise((resolve) => {
      stream.on("data", (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        // One timestamp per read, as lines that arrive together were written together.
        const stamp = criTimestamp();
        const full = Buffer.from(`${stamp} ${name} F `);
        let part: Buffer | undefined;
        let start = 0;
        for (;;) {
          const nl = pending.indexOf(10, start);
          const end = nl < 0 ? pending.length : nl;
          while (end - start >= MAX_LOG_LINE_BYTES) {
            part ??= Buffer.from(`${stamp} ${name} P `);
            this.push(part, pending.subarray(start, start + MAX_LOG_LINE_BYTES));
            start += MAX_LOG_LINE_BYTES;
          }
          if (nl < 0) break;
          this.push(full, pending.subarray(start, nl > start && pending[nl - 1] === 13 ? nl - 1 : nl));
          start = nl + 1;
        }
        pending = start === 0 ? pending : Buffer.from(pending.subarray(start));
        this.kick();
      });
      const done = () => {
        if (!this.sources.delete(stream)) return;
        if (pending.length) this.push(Buffer.from(`${criTimestamp()} ${name} F `), pending);
        pending = Buffer.alloc(0);
        this.kick();
        resolve();
      };
      stream.once("end", done);
      stream.once("close", done);
      stream.once("error", done);
    });
  }

  private push(prefix: Buffer, content: Buffer): void {
    if (this.failed) return;
    const line = Buffer.allocUnsafe(prefix.length + content.length + 1);
    prefix.copy(line, 0);
    content.copy(line, prefix.length);
    line[line.length - 1] = 10;
    this.queue.push(line);
    this.queued += line.length;
  }

  private kick(): void {
    if (this.queued > this.highWater && !this.paused) {
      this.paused = true;
      for (const s of this.sources) s.pause();
    }
    if (!this.flushing) {
      // flush() may finish synchronously (nothing queued); clear only after the assignment, or
      // close() would await a settled promise forever.
      const flushing = this.flush().finally(() => {
        if (this.flushing === flushing) this.flushing = undefined;
      });
      this.flushing = flushing;
    }
  }

  private async flush(): Promise<void> {
    try {
      while (this.head < this.queue.length && this.fh) {
        const room = Math.max(1, Math.min(MAX_WRITE, this.maxBytes - this.size));
        const batch: Buffer[] = [];
        let bytes = 0;
        while (this.head < this.queue.length) {
          const b = this.queue[this.head]!;
          if (batch.length > 0 && bytes + b.length > room) break;
          batch.push(b);
          bytes += b.length;
          this.head++;
        }
        if (this.head === this.queue.length) {
          this.queue = [];
          this.head = 0;
        } else if (this.head > 4096) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        this.queued -= bytes;
        const buf = batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes);
        let off = 0;
        while (off < buf.length) off += (await this.fh.write(buf, off)).bytesWritten;
        this.size += buf.length;
        if (this.size >= this.maxBytes) await this.rotate();
        if (this.paused && this.queued < this.highWater / 4) {
          this.paused = false;
          for (const s of this.sources) s.resume();
        }
      }
    } catch (e) {
      // A full or vanished disk must not crash kite: drop this container's log output from here on.
      this.failed = true;
      this.queue = [];
      this.head = 0;
      this.queued = 0;
      for (const s of this.sources) s.resume();
      this.log(
        `process runtime: writing ${this.path} failed, dropping further output: ${(e as Error).message}`,
      );
    }
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
    const keep = Math.max(1, this.maxFiles);
    if (keep === 1) {
      this.fh = await open(this.path, "w", 0o640);
    } else {
      for (const f of logFilesOldestFirst(this.path)) {
        const n = f === this.path ? 0 : Number(f.slice(this.path.length + 1));
        if (n >= keep - 1) await unlink(f).catch(() => undefined);
      }
      for (let n = keep - 2; n >= 1; n--)
        await rename(`${this.path}.${n}`, `${this.path}.${n + 1}`).catch(() => undefined);
      await rename(this.path, `${this.path}.1`);
      this.fh = await open(this.path, "a", 0o640);
    }
    this.size = 0;
  }

  /** Waits until everything queued is on disk, then closes the file. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
  }
}
