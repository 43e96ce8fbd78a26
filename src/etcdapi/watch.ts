// Watch.Watch: one bidirectional stream carrying many watchers (etcd api/v3rpc/watch.go).
// Per-stream watch ids (client-chosen or allocated from 0 upwards) map onto the store's
// server-wide watchers. A watcher's "created" response always goes out before its first
// events; a watcher's responses stay in revision order; with `fragment` a response larger than
// the request limit is split as etcd splits it. When the gRPC stream's buffer is full the store
// parks the watcher, and it is resumed (caught up from history) once the stream drains.
import type { handleBidiStreamingCall, ServerDuplexStream } from "@grpc/grpc-js";
import type { WatchResponse } from "../store/mvcc/types.js";
import type { WatchHandle } from "../store/server/types.js";
import * as codec from "./codec.js";
import { ETCD_ERRORS, type EtcdError, toStatus, WATCH_CANCEL_REASONS } from "./errors.js";
import { watchResponseSize } from "./proto.js";
import { type ApiContext, checkLeader, requiresLeader } from "./rpc.js";

/** etcd's grpcOverheadBytes: watch responses are fragmented at max-request-bytes plus this. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

interface Watcher {
  /** The per-stream id, as the decimal string of an int64. */
  id: string;
  fragment: boolean;
  /** Whether the "created" response went out; deliveries wait until it has. */
  announced: boolean;
  pending: WatchResponse[];
  handle?: WatchHandle;
}

/**
 * Splits a response with several events into parts below `limit` bytes (each part with at
 * least one event), all but the last flagged `fragment`, as etcd's sendFragments.
 */
export function fragmentResponse(resp: codec.Wire, events: codec.Wire[], limit: number): codec.Wire[] {
  if (events.length < 2 || watchResponseSize({ ...resp, events }) < limit) return [{ ...resp, events }];
  const base = watchResponseSize({ ...resp, events: [], fragment: true });
  const parts: codec.Wire[] = [];
  let idx = 0;
  while (idx < events.length) {
    const part: codec.Wire[] = [];
    let size = base;
    while (idx < events.length) {
      const eventSize = watchResponseSize({ events: [events[idx]] });
      if (part.length > 0 && size + eventSize >= limit) break;
      part.push(events[idx] as codec.Wire);
      size += eventSize;
      idx++;
    }
    parts.push({ ...resp, events: part, fragment: idx < events.length });
  }
  return parts;
}

class WatchStream {
  private readonly watchers = new Map<string, Watcher>();
  private nextId = 0;
  private readonly parked = new Set<WatchHandle>();
  private closed = false;
  private readonly fragmentLimit: number;

  constructor(
    private readonly ctx: ApiContext,
    private readonly call: ServerDuplexStream<codec.Wire, codec.Wire>,
  ) {
    this.fragmentLimit = ctx.maxRequestBytes + GRPC_OVERHEAD_BYTES;
    call.on("drain", () => {
      const handles = [...this.parked];
      this.parked.clear();
      for (const h of handles) h.resume();
    });
  }

  private header(revision?: number): codec.Wire {
    const h = this.ctx.service.header();
    return codec.header(revision === undefined ? h : { ...h, revision });
  }

  /** Writes one response; false when the stream's buffer is full. */
  private write(resp: codec.Wire): boolean {
    if (this.closed) return true;
    return this.call.write(resp);
  }

  handle(req: codec.Wire): void {
    const create = codec.wireField(req.create_request);
    const cancel = codec.wireField(req.cancel_request);
    if (create) this.create(create);
    else if (cancel) this.cancel(codec.bigField(cancel.watch_id).toString());
    else if (codec.wireField(req.progress_request)) this.progress();
    // etcd ignores requests it does not understand rather than ending the stream.
  }

  private create(w: codec.Wire): void {
    let key = codec.bytesField(w.key);
    if (key.length === 0) key = new Uint8Array([0]);
    const rawEnd = codec.bytesField(w.range_end);
    const rangeEnd = rawEnd.length === 0 ? undefined : rawEnd;
    const startRevision = codec.intField(w.start_revision);
    const fromKey = rangeEnd?.length === 1 && rangeEnd[0] === 0;
    const reject = (reason: string) =>
      this.write({
        header: this.header(),
        watch_id: "-1",
        created: true,
        canceled: true,
        cancel_reason: reason,
      });
    if (startRevision < 0) {
      reject(ETCD_ERRORS.Compacted.message);
      return;
    }
    if (rangeEnd && !fromKey && Buffer.compare(key, rangeEnd) >= 0) {
      reject(WATCH_CANCEL_REASONS.emptyRange);
      return;
    }
    let id = codec.bigField(w.watch_id).toString();
    if (id === "0") {
      while (this.watchers.has(String(this.nextId))) this.nextId++;
      id = String(this.nextId++);
    } else if (this.watchers.has(id)) {
      reject(WATCH_CANCEL_REASONS.duplicateId);
      return;
    }
    const watcher: Watcher = { id, fragment: codec.boolField(w.fragment), announced: false, pending: [] };
    this.watchers.set(id, watcher);
    try {
      watcher.handle = this.ctx.service.watch(
        {
          key,
          rangeEnd,
          startRevision,
          prevKv: codec.boolField(w.prev_kv),
          filters: codec.watchFilters(w.filters),
          progressNotify: codec.boolField(w.progress_notify),
        },
        (delivery) => this.deliver(watcher, delivery),
      );
    } catch (err) {
      this.watchers.delete(id);
      reject(toStatus(err).details ?? "");
      return;
    }
    this.write({ header: this.header(), watch_id: id, created: true });
    watcher.announced = true;
    const pending = watcher.pending;
    watcher.pending = [];
    let ready = true;
    for (const d of pending) ready = this.send(watcher, d) && ready;
    if (!ready && watcher.handle) this.parked.add(watcher.handle);
  }

  /** The store's sink for one watcher. */
  private deliver(watcher: Watcher, delivery: WatchResponse): boolean {
    if (this.closed) return true;
    if (!watcher.announced) {
      watcher.pending.push(delivery);
      return true;
    }
    const ready = this.send(watcher, delivery);
    if (!ready && watcher.handle) this.parked.add(watcher.handle);
    return ready;
  }

  private send(watcher: Watcher, d: WatchResponse): boolean {
    const resp: codec.Wire = {
      header: this.header(d.revision),
      watch_id: watcher.id,
      compact_revision: String(d.compactRevision ?? 0),
      canceled: d.canceled === true || (d.compactRevision ?? 0) !== 0,
    };
    const events = d.events.map(codec.event);
    if (!watcher.fragment) return this.write({ ...resp, events });
    let ready = true;
    for (const part of fragmentResponse(resp, events, this.fragmentLimit)) ready = this.write(part) && ready;
    return ready;
  }

  private cancel(id: string): void {
    const watcher = this.watchers.get(id);
    if (!watcher) return; // etcd answers nothing for an unknown id
    this.watchers.delete(id);
    if (watcher.handle) {
      this.parked.delete(watcher.handle);
      watcher.handle.cancel();
    }
    this.write({ header: this.header(), watch_id: id, canceled: true });
  }

  private progress(): void {
    const handles = [...this.watchers.values()].flatMap((w) => (w.handle ? [w.handle] : []));
    if (handles.length === 0) return;
    const revision = this.ctx.service.watchProgress(handles.map((h) => h.id));
    if (revision !== undefined) this.write({ header: this.header(revision), watch_id: "-1" });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers.values()) w.handle?.cancel();
    this.watchers.clear();
    this.parked.clear();
  }
}

export function watchCall(ctx: ApiContext): handleBidiStreamingCall<codec.Wire, codec.Wire> {
  return (call) => {
    try {
      checkLeader(ctx, call);
    } catch (err) {
      call.emit("error", toStatus(err));
      return;
    }
    const stream = new WatchStream(ctx, call);
    const onNoLeader = (err: EtcdError) => {
      stream.close();
      call.emit("error", toStatus(err));
    };
    const done = () => {
      stream.close();
      ctx.leaderStreams.delete(onNoLeader);
    };
    if (requiresLeader(call.metadata)) ctx.leaderStreams.add(onNoLeader);
    call.on("data", (req: unknown) => {
      try {
        stream.handle(codec.wireField(req) ?? {});
      } catch (err) {
        done();
        call.emit("error", toStatus(err));
      }
    });
    call.on("cancelled", done);
    call.on("close", done);
    call.on("error", done);
  };
}
