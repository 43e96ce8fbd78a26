// Reading a watch: the response is a chunked stream of JSON objects, one per event. Upstream
// writes one per line, but chunk boundaries fall anywhere, so the splitter finds object
// boundaries itself (brace depth outside strings) and accepts both newline-separated and
// back-to-back objects.
import type { IncomingMessage } from "node:http";
import type { KubeObject, WatchEvent } from "../api/index.js";

/** Splits a byte stream into complete top-level JSON object texts. */
export class JsonObjectSplitter {
  private pending = "";
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Where in `pending` the current object began, -1 between objects. */
  private start = -1;
  private scanned = 0;

  /** Feeds text; returns the objects it completed. */
  push(text: string): string[] {
    this.pending += text;
    const out: string[] = [];
    const s = this.pending;
    let i = this.scanned;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) {
        if (this.depth === 0) throw new Error("watch stream: a string outside any object");
        this.inString = true;
      } else if (c === 0x7b || c === 0x5b) {
        if (this.depth === 0) {
          if (c === 0x5b) throw new Error("watch stream: an array where an event object was expected");
          this.start = i;
        }
        this.depth++;
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth < 0) throw new Error("watch stream: unbalanced closing bracket");
        if (this.depth === 0) {
          out.push(s.slice(this.start, i + 1));
          this.start = -1;
        }
      } else if (this.depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        throw new Error(`watch stream: unexpected ${JSON.stringify(s[i])} between events`);
      }
    }
    if (this.start === -1) {
      this.pending = "";
      this.scanned = 0;
    } else {
      this.pending = s.slice(this.start);
      this.scanned = i - this.start;
      this.start = 0;
    }
    return out;
  }

  /** True when no partial object is buffered. */
  idle(): boolean {
    return this.depth === 0;
  }
}

/**
 * The events of one watch request. Iterate with `for await`; the loop ends when the server closes
 * the stream cleanly and throws when the connection breaks mid-stream. ERROR events are yielded
 * as they come (their object is a Status); the caller decides what they mean.
 */
export class WatchStream<T extends KubeObject = KubeObject> implements AsyncIterable<WatchEvent<T>> {
  private readonly buffered: WatchEvent<T>[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  private stopped = false;
  private readonly splitter = new JsonObjectSplitter();
  private static readonly highWater = 1000;

  constructor(
    private readonly res: IncomingMessage,
    private readonly abort: () => void,
  ) {
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => this.onData(chunk));
    res.on("end", () => {
      if (!this.splitter.idle()) this.fail(new Error("watch stream ended inside an event"));
      else this.finish();
    });
    res.on("error", (err) => this.fail(err));
    res.on("aborted", () => this.fail(new Error("watch connection aborted")));
    res.on("close", () => {
      if (!res.complete && !this.stopped)
        this.fail(new Error("watch connection closed before the stream ended"));
      else this.finish();
    });
  }

  private onData(chunk: string): void {
    let texts: string[];
    try {
      texts = this.splitter.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      this.abort();
      return;
    }
    for (const text of texts) {
      try {
        this.buffered.push(JSON.parse(text) as WatchEvent<T>);
      } catch (err) {
        this.fail(new Error(`watch stream: bad event JSON: ${(err as Error).message}`));
        this.abort();
        return;
      }
    }
    if (this.buffered.length >= WatchStream.highWater) this.res.pause();
    this.wake();
  }

  private fail(err: Error): void {
    if (this.ended || this.stopped) return;
    this.failure = err;
    this.ended = true;
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Closes the connection; iteration ends without an error. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ended = true;
    this.abort();
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    try {
      for (;;) {
        if (this.stopped) return;
        const next = this.buffered.shift();
        if (next !== undefined) {
          if (this.buffered.length < WatchStream.highWater / 2 && this.res.isPaused()) this.res.resume();
          yield next;
          continue;
        }
        if (this.ended) {
          if (this.failure) throw this.failure;
          return;
        }
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
      }
    } finally {
      this.stop();
    }
  }
}
