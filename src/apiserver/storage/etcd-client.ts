// A thin etcd v3 client over @grpc/grpc-js with etcd's own proto (as shipped in the etcd3 npm
// package). Kept this close to the wire on purpose: the object store needs exact Txn shapes
// (compare mod_revision, else get), ranges at a revision with count/more, count_only, and a raw
// bidirectional Watch stream whose compaction and cancel answers it handles itself.
import * as grpc from "@grpc/grpc-js";
import { etcdClientConstructors } from "../../etcdapi/proto.js";

export interface KeyValue {
  key: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  value: Buffer;
}

export interface ResponseHeader {
  revision: string;
}

export interface RangeRequest {
  key: Buffer;
  range_end?: Buffer;
  limit?: number;
  revision?: number;
  count_only?: boolean;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: string;
}

export interface Compare {
  key: Buffer;
  /** 0 EQUAL, 1 GREATER, 2 LESS, 3 NOT_EQUAL (sent by number; the package's proto renames them). */
  result: 0 | 1 | 2 | 3;
  /** 0 VERSION, 1 CREATE, 2 MOD, 3 VALUE. */
  target: 0 | 1 | 2 | 3;
  mod_revision?: string;
  version?: string;
}

export type RequestOp =
  | { request_put: { key: Buffer; value: Buffer } }
  | { request_range: { key: Buffer } }
  | { request_delete_range: { key: Buffer; prev_kv?: boolean } };

export interface ResponseOp {
  response_range?: RangeResponse;
  response_put?: { header: ResponseHeader };
  response_delete_range?: { header: ResponseHeader; deleted: string; prev_kvs: KeyValue[] };
}

export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface WatchEventWire {
  type: "Put" | "Delete" | number;
  kv: KeyValue;
  prev_kv: KeyValue | null;
}

export interface WatchResponseWire {
  header: ResponseHeader;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  events: WatchEventWire[];
}

/** A Watch stream as the watch cache uses it (a gRPC duplex call, or the in-process one). */
export interface WatchCall {
  on(event: "data", fn: (resp: WatchResponseWire) => void): unknown;
  on(event: "error" | "end", fn: (err?: Error) => void): unknown;
  write(req: object): unknown;
  cancel(): void;
}

/** The calls the object store makes: EtcdClient over gRPC, or InProcessEtcdClient (inprocess-client.ts). */
export interface EtcdKv {
  readonly target: string;
  range(req: RangeRequest): Promise<RangeResponse>;
  txn(req: { compare: Compare[]; success: RequestOp[]; failure: RequestOp[] }): Promise<TxnResponse>;
  compact(revision: number): Promise<unknown>;
  openWatch(): WatchCall;
  close(): void;
}

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type Unary = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => void;
type ServiceCtor = new (target: string, creds: grpc.ChannelCredentials, opts: object) => grpc.Client;

function etcdServices(): { KV: ServiceCtor; Watch: ServiceCtor } {
  return etcdClientConstructors() as unknown as { KV: ServiceCtor; Watch: ServiceCtor };
}

/** "http://127.0.0.1:2379" or "127.0.0.1:2379" -> "127.0.0.1:2379"; TLS endpoints are not supported yet. */
export function endpointAddress(endpoint: string): string {
  const trimmed = endpoint.trim();
  if (trimmed.startsWith("https://"))
    throw new Error(`etcd endpoint ${endpoint}: TLS endpoints are not supported`);
  const hostPort = trimmed.replace(/^http:\/\//, "").replace(/\/+$/, "");
  if (!/^[^/\s]+:\d+$/.test(hostPort))
    throw new Error(`etcd endpoint ${endpoint}: expected host:port or http://host:port`);
  return hostPort;
}

/**
 * One gRPC target for all endpoints: several IPv4 endpoints become an `ipv4:` target, which
 * grpc-js's pick_first balancer fails over between; a single endpoint may be a host name.
 */
export function grpcTarget(endpoints: readonly string[]): string {
  if (endpoints.length === 0) throw new Error("no etcd endpoints given");
  const addrs = endpoints.map(endpointAddress);
  if (addrs.length === 1) return addrs[0]!;
  if (!addrs.every((a) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(a)))
    throw new Error("several etcd endpoints must all be IPv4 address:port pairs");
  return `ipv4:${addrs.join(",")}`;
}

/** The end of the key range that holds every key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** The gRPC status codes and messages the store maps to Kubernetes errors. */
export const COMPACTED_MESSAGE = "etcdserver: mvcc: required revision has been compacted";
export const FUTURE_REV_MESSAGE = "etcdserver: mvcc: required revision is a future revision";

export function isCompacted(err: unknown): boolean {
  return err instanceof Error && err.message.includes("required revision has been compacted");
}

export function isFutureRevision(err: unknown): boolean {
  return err instanceof Error && err.message.includes("required revision is a future revision");
}

export class EtcdClient implements EtcdKv {
  private readonly kv: grpc.Client & { Range: Unary; Txn: Unary; Compact: Unary };
  private readonly watchSvc: grpc.Client & {
    Watch(md: grpc.Metadata): grpc.ClientDuplexStream<object, WatchResponseWire>;
  };

  private constructor(
    readonly target: string,
    private readonly requestTimeoutMs: number,
  ) {
    const { KV, Watch } = etcdServices();
    const opts = {
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      // grpc's default reconnect backoff starts at 1 s and grows to 120 s; an apiserver should
      // find its store again within seconds.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 5_000,
    };
    const creds = grpc.credentials.createInsecure();
    this.kv = new KV(target, creds, opts) as EtcdClient["kv"];
    this.watchSvc = new Watch(target, creds, opts) as EtcdClient["watchSvc"];
  }

  static connect(endpoints: readonly string[], requestTimeoutMs = 15_000): EtcdClient {
    return new EtcdClient(grpcTarget(endpoints), requestTimeoutMs);
  }

  private unary<T>(method: Unary, req: object): Promise<T> {
    return new Promise((resolve, reject) => {
      method.call(
        this.kv,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + this.requestTimeoutMs },
        (err, res) => (err ? reject(err) : resolve(res as T)),
      );
    });
  }

  range(req: RangeRequest): Promise<RangeResponse> {
    return this.unary(this.kv.Range, req);
  }

  txn(req: { compare: Compare[]; success: RequestOp[]; failure: RequestOp[] }): Promise<TxnResponse> {
    return this.unary(this.kv.Txn, req);
  }

  compact(revision: number): Promise<unknown> {
    return this.unary(this.kv.Compact, { revision: String(revision), physical: true });
  }

  /** A new Watch stream; `hasleader` makes a member without a leader end it instead of going silent. */
  openWatch(): WatchCall {
    const md = new grpc.Metadata();
    md.set("hasleader", "true");
    return this.watchSvc.Watch(md);
  }

  close(): void {
    this.kv.close();
    this.watchSvc.close();
  }
}
