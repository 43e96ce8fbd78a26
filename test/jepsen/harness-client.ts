// etcd v3 gRPC calls for the Jepsen harness, translated to and from the checker's etcd model
// (etcd-kv.ts): get, put and a compare-mod-revision txn, each with a per-call deadline.
import * as grpc from "@grpc/grpc-js";
import { serviceDefinition } from "../../src/etcdapi/proto.js";
import type { EtcdRequest, EtcdResponse, KeyValue, TxnOpResult } from "./etcd-kv.js";

type Callback = (err: grpc.ServiceError | null, res: WireResponse) => void;
type Unary = (req: object, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => void;
export type GrpcClient = grpc.Client & Record<string, Unary>;

interface WireKv {
  key: Uint8Array;
  value: Uint8Array;
  create_revision: string;
  mod_revision: string;
  version: string;
}
interface WireOpResponse {
  response?: string;
  response_range?: { kvs: WireKv[] };
}
interface WireResponse {
  header?: { revision: string };
  kvs?: WireKv[];
  succeeded?: boolean;
  responses?: WireOpResponse[];
}

/** Short reconnect backoff: members restart on the same port within a second. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 50,
  "grpc.max_reconnect_backoff_ms": 300,
};

export function grpcClient(address: string, service: "KV" | "Watch" | "Maintenance"): GrpcClient {
  const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(service), service);
  return new Ctor(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as GrpcClient;
}

export function unary(client: GrpcClient, method: string, req: object, ms: number): Promise<WireResponse> {
  return new Promise((resolve, reject) => {
    client[method]!.call(client, req, new grpc.Metadata(), { deadline: Date.now() + ms }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

const bytes = (s: string) => Buffer.from(s, "utf8");
/** The range end that makes a Range or Watch cover every key starting with `prefix`. */
export function prefixEnd(prefix: string): Buffer {
  const end = bytes(prefix);
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
}
const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

function toKeyValue(kv: WireKv): KeyValue {
  return {
    key: text(kv.key),
    value: text(kv.value),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
  };
}

// etcd's Compare enums by wire number: result EQUAL = 0; target MOD = 2.
const COMPARE_EQUAL = 0;
const TARGET_MOD = 2;

/**
 * Sends one model request. Supported: get (single key), put, and a txn of the shape
 * "if mod(key) = n then put(key, v) else get(key)" — what the workload generates.
 */
export async function execute(kv: GrpcClient, request: EtcdRequest, ms: number): Promise<EtcdResponse> {
  switch (request.type) {
    case "get": {
      const range = request.prefix ? { range_end: prefixEnd(request.key) } : {};
      const res = await unary(kv, "Range", { key: bytes(request.key), ...range }, ms);
      return { type: "get", revision: Number(res.header?.revision), kvs: (res.kvs ?? []).map(toKeyValue) };
    }
    case "put": {
      const res = await unary(kv, "Put", { key: bytes(request.key), value: bytes(request.value) }, ms);
      return { type: "put", revision: Number(res.header?.revision) };
    }
    case "txn": {
      const [compare] = request.compare;
      const [success] = request.success;
      const [failure] = request.failure;
      if (
        compare?.target !== "mod" ||
        compare.op !== "=" ||
        success?.type !== "put" ||
        failure?.type !== "get"
      ) {
        throw new Error("unsupported txn shape");
      }
      const res = await unary(
        kv,
        "Txn",
        {
          compare: [
            {
              key: bytes(compare.key),
              result: COMPARE_EQUAL,
              target: TARGET_MOD,
              mod_revision: compare.value,
            },
          ],
          success: [{ request_put: { key: bytes(success.key), value: bytes(success.value) } }],
          failure: [{ request_range: { key: bytes(failure.key) } }],
        },
        ms,
      );
      const succeeded = res.succeeded === true;
      const results: TxnOpResult[] = succeeded
        ? [{ type: "put" }]
        : [{ type: "get", kvs: (res.responses?.[0]?.response_range?.kvs ?? []).map(toKeyValue) }];
      return { type: "txn", revision: Number(res.header?.revision), succeeded, results };
    }
    default:
      throw new Error(`unsupported request ${request.type}`);
  }
}
