// src/apiserver/storage owns the apiserver's object store: EtcdObjectStore implements ObjectStore
// over the etcd v3 API (single-key Txns on mod_revision, paged ranges, continue tokens) with one
// watch cache per resource: a single etcd watch fanned out in memory to filtered client watches.
// Over an embedded kite store it calls the store directly (InProcessEtcdClient), not via gRPC.
export { EtcdClient, type EtcdKv, prefixEnd } from "./etcd-client.js";
export { InProcessEtcdClient } from "./inprocess-client.js";
export { EtcdObjectStore, type EtcdObjectStoreOptions, type StoreStats } from "./store.js";
export { INITIAL_EVENTS_END } from "./watcher.js";
