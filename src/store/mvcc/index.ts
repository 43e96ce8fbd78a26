// The MVCC key-value state machine with etcd v3 semantics: revisions, ranges at past revisions,
// txns, compaction, leases (replicated part plus the leader-side Lessor clock), watches and
// snapshots. Deterministic: no I/O and no clocks except the Lessor's injected one.
export { Lessor, type LessorOptions } from "./lessor.js";
export { MvccStore } from "./store.js";
export * from "./types.js";
export { validateDeleteRange, validatePut, validateRange, validateTxn } from "./validate.js";
export { DEFAULT_SYNC_EVENTS_PER_WATCHER, WatchHub } from "./watch.js";
