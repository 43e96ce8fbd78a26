// src/etcdapi owns the etcd v3 API surface of kite: the gRPC services KV, Watch, Lease, Cluster,
// Maintenance and Auth (proto text from etcd via the etcd3 package) over a KvService from
// src/store, with etcd's request validation, error codes/messages and response headers, plus
// etcd's plain-HTTP /metrics, /health and /version on the same client URLs.
export { ETCD_ERRORS, EtcdError, type EtcdErrorName, toStatus } from "./errors.js";
export { PROTO_LOAD_OPTIONS, packageDefinition, RPC_PROTO_PATH } from "./proto.js";
export {
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_MAX_TXN_OPS,
  type EtcdGrpcServer,
  type EtcdGrpcServerOptions,
  startEtcdGrpcServer,
} from "./server.js";
