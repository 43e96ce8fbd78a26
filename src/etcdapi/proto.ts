// Loads etcd's v3 API protobuf definitions. The .proto text comes from etcd (etcd-io/etcd,
// Apache-2.0) as shipped in the `etcd3` npm package (proto/rpc.proto, kv.proto, auth.proto).
// Quirks of that copy: it is the 3.5-era API (Downgrade and AuthStatus present), its enum
// values are renamed to PascalCase (SortOrder.Ascend, Compare.Equal, FilterType.Noput, ...);
// only the numbers are on the wire, so this layer reads and writes enums by number.
import { createRequire } from "node:module";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const require = createRequire(import.meta.url);

export const PROTO_LOAD_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const RPC_PROTO_PATH = require.resolve("etcd3/proto/rpc.proto");

export const packageDefinition = protoLoader.loadSync(RPC_PROTO_PATH, PROTO_LOAD_OPTIONS);

export type EtcdServiceName = "KV" | "Watch" | "Lease" | "Cluster" | "Maintenance" | "Auth";

export function serviceDefinition(name: EtcdServiceName): grpc.ServiceDefinition {
  return packageDefinition[`etcdserverpb.${name}`] as grpc.ServiceDefinition;
}

let clientConstructors: Record<EtcdServiceName, grpc.ServiceClientConstructor> | undefined;

/** Client classes for etcd's services, for kite's own etcd clients (apiserver storage, benchmarks). */
export function etcdClientConstructors(): Record<EtcdServiceName, grpc.ServiceClientConstructor> {
  clientConstructors ??= (
    grpc.loadPackageDefinition(packageDefinition) as unknown as {
      etcdserverpb: Record<EtcdServiceName, grpc.ServiceClientConstructor>;
    }
  ).etcdserverpb;
  return clientConstructors;
}

/** Encoded size of a WatchResponse (etcd fragments watch responses by this size). */
export function watchResponseSize(resp: object): number {
  return serviceDefinition("Watch").Watch.responseSerialize(resp).length;
}

/** Enum values as the wire numbers (see the PascalCase quirk above). */
export function enumNumber(value: unknown, names: readonly string[]): number {
  if (typeof value === "number") return value;
  const i = names.indexOf(String(value));
  return i;
}
