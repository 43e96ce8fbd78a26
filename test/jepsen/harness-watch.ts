// Watchers for the Jepsen harness: each follows the key prefix from revision 1 on some member,
// and when its stream breaks (member killed, paused, cut off) resumes on another member from
// the last revision it saw + 1. verifyWatch() then demands that each watcher saw every revision
// of the final store exactly once, in order, with the right key and value.
import type * as grpc from "@grpc/grpc-js";
import { type GrpcClient, grpcClient, prefixEnd } from "./harness-client.js";

export interface WatchEvent {
  revision: number;
  key: string;
  value: string;
  type: string;
}

interface WireWatchResponse {
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: Array<{ type: string; kv: { key: Uint8Array; value: Uint8Array; mod_revision: string } }>;
}

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

export class Watcher {
  readonly events: WatchEvent[] = [];
  /** Problems the server reported (compaction, cancel) — each one fails the watch check. */
  readonly problems: string[] = [];
  reconnects = 0;
  private stream: grpc.ClientDuplexStream<object, WireWatchResponse> | undefined;
  private client: GrpcClient | undefined;
  private stopped = false;
  private next = 0;

  constructor(
    readonly id: number,
    private readonly addresses: readonly string[],
    private readonly prefix: string,
  ) {
    this.next = id % addresses.length;
  }

  get lastRevision(): number {
    return this.events.at(-1)?.revision ?? 1;
  }

  start(): void {
    if (this.stopped) return;
    const address = this.addresses[this.next++ % this.addresses.length] as string;
    this.client?.close();
    this.client = grpcClient(address, "Watch");
    const stream = (
      this.client as unknown as { Watch(): grpc.ClientDuplexStream<object, WireWatchResponse> }
    ).Watch();
    this.stream = stream;
    let restarted = false;
    const restart = () => {
      if (restarted || this.stopped) return;
      restarted = true;
      this.reconnects++;
      stream.cancel();
      setTimeout(() => this.start(), 50);
    };
    stream.on("data", (res: WireWatchResponse) => {
      if (res.canceled) {
        this.problems.push(
          `watch on ${address} canceled (compact revision ${res.compact_revision}): ${res.cancel_reason}`,
        );
        restart();
        return;
      }
      for (const e of res.events ?? []) {
        this.events.push({
          revision: Number(e.kv.mod_revision),
          key: text(e.kv.key),
          value: text(e.kv.value),
          type: String(e.type),
        });
      }
    });
    stream.on("error", restart);
    stream.on("end", restart);
    stream.write({
      create_request: {
        key: Buffer.from(this.prefix),
        range_end: prefixEnd(this.prefix),
        start_revision: this.lastRevision + 1,
      },
    });
  }

  stop(): void {
    this.stopped = true;
    this.stream?.cancel();
    this.client?.close();
  }
}

/** The final store as a Range over all keys saw it: key → (value, modRevision). */
export interface FinalKey {
  key: string;
  value: string;
  modRevision: number;
}

/**
 * Every write in this workload changes exactly one key, so revisions 2..finalRevision must each
 * appear exactly once, in order; each key's last event must match the final Range; every event
 * value must be one some client tried to write to that key.
 */
export function verifyWatch(
  watcher: Watcher,
  finalRevision: number,
  finalKeys: readonly FinalKey[],
  attempted: ReadonlyMap<string, string>,
): string[] {
  const errors = [...watcher.problems];
  const seen = watcher.events;
  for (let i = 0; i < seen.length; i++) {
    const e = seen[i] as WatchEvent;
    const expected = i + 2;
    if (e.revision !== expected) {
      errors.push(
        `watcher ${watcher.id}: event #${i} has revision ${e.revision}, expected ${expected} ` +
          `(${e.revision < expected ? "duplicate or out of order" : "gap"})`,
      );
      break;
    }
    if (e.type !== "PUT" && e.type !== "Put" && e.type !== "0") {
      errors.push(`watcher ${watcher.id}: unexpected ${e.type} event at revision ${e.revision}`);
    }
    if (attempted.get(e.value) !== e.key) {
      errors.push(
        `watcher ${watcher.id}: revision ${e.revision} has value ${e.value} no client wrote to ${e.key}`,
      );
    }
  }
  if (seen.length !== finalRevision - 1) {
    errors.push(
      `watcher ${watcher.id}: saw ${seen.length} events, the store is at revision ${finalRevision}`,
    );
  }
  const lastByKey = new Map<string, WatchEvent>();
  for (const e of seen) lastByKey.set(e.key, e);
  for (const k of finalKeys) {
    const last = lastByKey.get(k.key);
    if (last?.revision !== k.modRevision || last.value !== k.value) {
      errors.push(
        `watcher ${watcher.id}: final ${k.key}=${k.value}@${k.modRevision} but last watched ` +
          `${last ? `${last.value}@${last.revision}` : "nothing"}`,
      );
    }
  }
  return errors;
}
