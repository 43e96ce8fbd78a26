// src/store owns kite's etcd-compatible storage: the MVCC key-value state machine (mvcc/), the
// write-ahead log and snapshot files (wal/), and the server that drives a Raft member over
// them (server/): proposals, group-committed fsyncs, applying, ReadIndex reads, leases,
// snapshots, quota alarms and metrics, and cluster membership over the peer transport
// (transport/). The etcd v3 gRPC layer (src/etcdapi) calls it through
// the KvService interface.
export * from "./mvcc/index.js";
export {
  DEFAULTS as STORE_DEFAULTS,
  ETCD_VERSION,
  type InitialMember,
  type StoreServerOptions,
  type Transport,
} from "./server/config.js";
export { GrpcCode, isStoreError, STORE_ERRORS, StoreError, type StoreErrorCode } from "./server/errors.js";
export { parseStoreFlags, STORE_USAGE, StoreFlagError, type StoreFlags } from "./server/flags.js";
export { StoreServer } from "./server/server.js";
export type * from "./server/types.js";
export * from "./wal/index.js";
