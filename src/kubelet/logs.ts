// What GET /containerLogs serves: a container's CRI-format log (see src/runtime/logfile.ts) turned
// back into the plain output `kubectl logs` shows, with upstream's options (tailLines, timestamps,
// sinceSeconds/sinceTime, limitBytes, follow). Rotated files are read oldest first, then the live
// file, which follow keeps reading (noticing rotation) until the signal aborts. `previous` is the
// caller's business: it passes the previous attempt's log path (<n-1>.log) instead of the current one.
import { type FileHandle, open, readFile, stat } from "node:fs/promises";
import { logFilesOldestFirst, parseCriLogLine } from "../runtime/index.js";

export interface LogOptions {
  follow?: boolean;
  previous?: boolean;
  tailLines?: number;
  timestamps?: boolean;
  sinceSeconds?: number;
  sinceTime?: Date;
  limitBytes?: number;
}

interface Piece {
  /** The line's own RFC3339Nano timestamp text, as written. */
  stamp: string;
  time: number;
  stream: "stdout" | "stderr";
  partial: boolean;
  content: string;
}

/** How often follow looks for new data or a rotated file. */
const FOLLOW_POLL_MS = 100;
const READ_CHUNK = 64 * 1024;

class LimitReached extends Error {}

/** Writes the log at logPath to out per opts. isRunning (optional) ends follow once the container
 *  has exited and everything is written, as upstream's follow does. */
export async function writeContainerLog(
  logPath: string,
  opts: LogOptions,
  out: NodeJS.WritableStream,
  signal: AbortSignal,
  isRunning?: () => boolean | Promise<boolean>,
): Promise<void> {
  const writer = new LogWriter(opts, out, signal);
  let live: LiveFile | undefined;
  try {
    for (const file of logFilesOldestFirst(logPath)) {
      if (file === logPath || signal.aborted) continue;
      const text = await readFile(file, "utf8").catch(() => "");
      for (const line of text.split("\n")) if (line !== "") await writer.line(line);
    }
    // The live file is read incrementally so follow can go on from where the first pass ended.
    live = await LiveFile.open(logPath);
    if (live) await live.drain(writer);
    await writer.endOfHistory();
    if (!opts.follow) return;
    while (!signal.aborted) {
      live ??= await LiveFile.open(logPath);
      if (live) {
        if (await live.drain(writer)) continue;
        if (await live.rotated(logPath)) {
          await live.drain(writer);
          await live.close();
          live = await LiveFile.open(logPath);
          continue;
        }
      }
      if (isRunning && !(await isRunning())) {
        if (live) await live.drain(writer);
        return;
      }
      await pause(FOLLOW_POLL_MS, signal);
    }
  } catch (err) {
    if (!(err instanceof LimitReached)) throw err;
  } finally {
    await live?.close();
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The live log file, read from an offset; keeps its handle so a rename (rotation) loses nothing. */
class LiveFile {
  private pos = 0;
  private rest = "";
  private readonly buf = Buffer.alloc(READ_CHUNK);
  private readonly decoder = new TextDecoder();

  private constructor(
    private readonly fh: FileHandle,
    private readonly ino: number,
  ) {}

  static async open(path: string): Promise<LiveFile | undefined> {
    const fh = await open(path, "r").catch(() => undefined);
    if (!fh) return undefined;
    return new LiveFile(fh, (await fh.stat()).ino);
  }

  /** Writes every complete line available now; true when anything was read. */
  async drain(writer: LogWriter): Promise<boolean> {
    let any = false;
    for (;;) {
      const { bytesRead } = await this.fh.read(this.buf, 0, READ_CHUNK, this.pos);
      if (bytesRead === 0) return any;
      any = true;
      this.pos += bytesRead;
      const text = this.rest + this.decoder.decode(this.buf.subarray(0, bytesRead), { stream: true });
      const lines = text.split("\n");
      this.rest = lines.pop()!;
      for (const line of lines) if (line !== "") await writer.line(line);
    }
  }

  /** The path now names another file (the runtime renamed ours to .1) or ours shrank. */
  async rotated(path: string): Promise<boolean> {
    const now = await stat(path).catch(() => undefined);
    return now !== undefined && (now.ino !== this.ino || now.size < this.pos);
  }

  close(): Promise<void> {
    return this.fh.close().catch(() => undefined);
  }
}

/** Applies since/tail/timestamps/limitBytes and writes with backpressure. */
class LogWriter {
  private readonly since: number;
  private remaining: number;
  /** Per stream: a partial (P) line is being written, so the next piece carries no timestamp. */
  private readonly midLine = { stdout: false, stderr: false };
  /** While tailing the history: the last tailLines logical lines, and unfinished ones per stream. */
  private tail: Piece[][] | undefined;
  private readonly pending: { stdout: Piece[]; stderr: Piece[] } = { stdout: [], stderr: [] };

  constructor(
    private readonly opts: LogOptions,
    private readonly out: NodeJS.WritableStream,
    private readonly signal: AbortSignal,
  ) {
    let since = Number.NEGATIVE_INFINITY;
    if (opts.sinceSeconds !== undefined && opts.sinceSeconds > 0)
      since = Date.now() - opts.sinceSeconds * 1000;
    if (opts.sinceTime) since = Math.max(since, opts.sinceTime.getTime());
    this.since = since;
    this.remaining =
      opts.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Number.POSITIVE_INFINITY;
    if (opts.tailLines !== undefined && opts.tailLines >= 0) this.tail = [];
  }

  async line(raw: string): Promise<void> {
    const parsed = parseCriLogLine(raw);
    if (!parsed) return;
    const piece: Piece = {
      stamp: raw.slice(0, raw.indexOf(" ")),
      time: parsed.time.getTime(),
      stream: parsed.stream,
      partial: parsed.partial,
      content: parsed.content,
    };
    if (piece.time < this.since) return;
    if (!this.tail) return this.write(piece);
    const pending = this.pending[piece.stream];
    pending.push(piece);
    if (piece.partial) return;
    this.tail.push(pending.splice(0));
    if (this.tail.length > this.opts.tailLines!) this.tail.shift();
  }

  /** The history has been read: a tail is written out now, and later lines go straight through. */
  async endOfHistory(): Promise<void> {
    const tail = this.tail;
    if (!tail) return;
    this.tail = undefined;
    const unfinished = [this.pending.stdout.splice(0), this.pending.stderr.splice(0)].filter(
      (l) => l.length > 0,
    );
    for (const logical of [...tail, ...(this.opts.tailLines! > 0 ? unfinished : [])])
      for (const piece of logical) await this.write(piece);
  }

  private async write(piece: Piece): Promise<void> {
    if (this.signal.aborted) return;
    let text = piece.content + (piece.partial ? "" : "\n");
    if (this.opts.timestamps && !this.midLine[piece.stream]) text = `${piece.stamp} ${text}`;
    this.midLine[piece.stream] = piece.partial;
    let data = Buffer.from(text);
    if (data.length > this.remaining) data = data.subarray(0, this.remaining);
    this.remaining -= data.length;
    if (!this.out.write(data)) await this.drained();
    if (this.remaining <= 0) throw new LimitReached();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.out.removeListener("drain", done);
        this.out.removeListener("close", done);
        this.out.removeListener("error", done);
        this.signal.removeEventListener("abort", done);
        resolve();
      };
      this.out.once("drain", done);
      this.out.once("close", done);
      this.out.once("error", done);
      this.signal.addEventListener("abort", done, { once: true });
    });
  }
}
