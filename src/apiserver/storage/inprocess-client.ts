// The object store's etcd client when the kite store runs in the same process: the same calls
// and wire shapes as EtcdClient (etcd-client.ts), answered by the store's KvService directly
// instead of through gRPC on loopback, which cost about a fifth of every create (protobuf
// encoding and HTTP/2 framing on both sides, twice per call). The store does its own validation,
// request timeouts and fsync-before-answer, so semantics do not change: a write resolves once
// it is durable, watch deliveries keep the store's revision order, errors carry etcd's texts.
import type { EventEmitter } from "node:events";
import type { KeyValue as StoreKeyValue, WatchResponse } from "../../store/mvcc/types.js";
import type { KvService, WatchHandle } from "../../store/server/types.js";
import type {
  Compare,
  EtcdKv,
  KeyValue,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnResponse,
  WatchCall,
  WatchEventWire,
  WatchResponseWire,
} from "./etcd-client.js";

const COMPARE_RESULTS = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"] as const;
const COMPARE_TARGETS = ["VERSION", "CREATE", "MOD", "VALUE"] as const;

/** A Buffer over the same bytes (no copy): the object store calls Buffer methods on keys and values. */
function buf(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function keyValue(kv: StoreKeyValue): KeyValue {
  return {
    key: buf(kv.key),
    create_revision: String(kv.createRevision),
    mod_revision: String(kv.modRevision),
    version: String(kv.version),
    value: buf(kv.value),
  };
}

function rangeResponse(r: { kvs: StoreKeyValue[]; more: boolean; count: number }, revision: number) {
  return {
    header: { revision: String(revision) },
    kvs: r.kvs.map(keyValue),
    more: r.more,
    count: String(r.count),
  };
}

function requestOp(op: RequestOp) {
  if ("request_put" in op) return { requestPut: { key: op.request_put.key, value: op.request_put.value } };
  if ("request_range" in op) return { requestRange: { key: op.request_range.key } };
  const del = op.request_delete_range;
  return { requestDeleteRange: { key: del.key, prevKv: del.prev_kv === true } };
}

function compare(c: Compare) {
  return {
    key: c.key,
    result: COMPARE_RESULTS[c.result],
    target: COMPARE_TARGETS[c.target],
    modRevision: Number(c.mod_revision ?? 0),
    version: Number(c.version ?? 0),
  };
}

type StoreResponseOp = Awaited<ReturnType<KvService["txn"]>>["responses"][number];

function responseOp(op: StoreResponseOp): ResponseOp {
  if (op.responseRange) return { response_range: rangeResponse(op.responseRange, op.responseRange.revision) };
  if (op.responsePut) return { response_put: { header: { revision: String(op.responsePut.revision) } } };
  if (op.responseDeleteRange) {
    const d = op.responseDeleteRange;
    return {
      response_delete_range: {
        header: { revision: String(d.revision) },
        deleted: String(d.deleted),
        prev_kvs: d.prevKvs.map(keyValue),
      },
    };
  }
  return {};
}

type Listener = (arg?: unknown) => void;

/**
 * One watch stream, shaped like the gRPC duplex call cache.ts uses: write() a create_request,
 * then "data" responses ("created" first, then events), cancel() to end it.
 */
class InProcessWatchCall {
  private readonly listeners = new Map<string, Listener[]>();
  private handle: WatchHandle | undefined;
  private ended = false;

  constructor(
    private readonly service: KvService,
    private readonly calls: Set<InProcessWatchCall>,
  ) {
    calls.add(this);
  }

  on(event: string, fn: Listener): this {
    const list = this.listeners.get(event) ?? [];
    list.push(fn);
    this.listeners.set(event, list);
    return this;
  }

  private emit(event: string, arg?: unknown): void {
    for (const fn of this.listeners.get(event) ?? []) fn(arg);
  }

  write(req: { create_request?: { key: Buffer; range_end?: Buffer; start_revision?: string } }): boolean {
    const create = req.create_request;
    if (this.ended || !create || this.handle) return true;
    let announced = false;
    const early: WatchResponse[] = [];
    const deliver = (d: WatchResponse) => {
      if (this.ended) return true;
      if (!announced) {
        early.push(d);
        return true;
      }
      try {
        this.emit("data", this.response(d));
      } catch (err) {
        // A bug on the receiving side must not unwind into the store's apply loop.
        queueMicrotask(() => this.fail(err));
      }
      return true;
    };
    try {
      this.handle = this.service.watch(
        {
          key: create.key,
          rangeEnd: create.range_end,
          startRevision: Number(create.start_revision ?? 0),
        },
        deliver,
      );
    } catch (err) {
      queueMicrotask(() => this.fail(err));
      return true;
    }
    this.emit("data", {
      header: { revision: String(this.service.header().revision) },
      watch_id: String(this.handle.id),
      created: true,
      canceled: false,
      compact_revision: "0",
      cancel_reason: "",
      events: [],
    } satisfies WatchResponseWire);
    announced = true;
    for (const d of early) deliver(d);
    return true;
  }

  private response(d: WatchResponse): WatchResponseWire {
    const compacted = d.compactRevision ?? 0;
    return {
      header: { revision: String(d.revision) },
      watch_id: String(d.watchId),
      created: false,
      canceled: d.canceled === true || compacted !== 0,
      compact_revision: String(compacted),
      cancel_reason: "",
      events: d.events.map(
        (e): WatchEventWire => ({
          type: e.type === "PUT" ? 0 : 1,
          kv: keyValue(e.kv),
          prev_kv: e.prevKv ? keyValue(e.prevKv) : null,
        }),
      ),
    };
  }

  private fail(err: unknown): void {
    if (this.ended) return;
    this.stop();
    this.emit("error", err instanceof Error ? err : new Error(String(err)));
  }

  private stop(): void {
    this.ended = true;
    this.calls.delete(this);
    this.handle?.cancel();
    this.handle = undefined;
  }

  cancel(): void {
    if (this.ended) return;
    this.stop();
  }

  /** The client closed: as a gRPC stream whose channel closed, it ends with an error. */
  close(): void {
    this.fail(new Error("etcd client closed"));
  }
}

export class InProcessEtcdClient implements EtcdKv {
  readonly target = "in-process";
  private readonly calls = new Set<InProcessWatchCall>();
  private closed = false;

  constructor(private readonly service: KvService) {}

  private check(): void {
    if (this.closed) throw new Error("etcd client closed");
  }

  async range(req: RangeRequest): Promise<RangeResponse> {
    this.check();
    const r = await this.service.range({
      key: req.key,
      rangeEnd: req.range_end,
      limit: req.limit ?? 0,
      revision: req.revision ?? 0,
      countOnly: req.count_only === true,
    });
    return rangeResponse(r, r.header.revision);
  }

  async txn(req: { compare: Compare[]; success: RequestOp[]; failure: RequestOp[] }): Promise<TxnResponse> {
    this.check();
    const r = await this.service.txn({
      compare: req.compare.map(compare),
      success: req.success.map(requestOp),
      failure: req.failure.map(requestOp),
    });
    return {
      header: { revision: String(r.header.revision) },
      succeeded: r.succeeded,
      responses: r.responses.map(responseOp),
    };
  }

  async compact(revision: number): Promise<unknown> {
    this.check();
    return this.service.compact({ revision, physical: true });
  }

  openWatch(): WatchCall {
    const call = new InProcessWatchCall(this.service, this.calls);
    if (this.closed) queueMicrotask(() => call.close());
    return call as unknown as WatchCall & EventEmitter;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const call of [...this.calls]) call.close();
  }
}
