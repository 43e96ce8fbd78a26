// src/proxy owns kube-proxy. It watches Services and EndpointSlices through src/client informers,
// computes the desired state as a pure function (desired.ts: frontends on ClusterIP:port and
// nodeIP:nodePort, ready endpoints with resolved target ports) and hands it to a ProxyBackend
// (backend.ts). The first backend is userspace (userspace/): real sockets relaying TCP and UDP, with
// round robin or ClientIP affinity (loadbalancer.ts) and dial retries on the next endpoint; an
// iptables or nftables backend would implement the same interface. Syncs are event-driven and
// coalesced (runner.ts); health (:10256) and metrics (:10249) are served on the node's IP.
export type { ProxyBackend } from "./backend.js";
export * from "./desired.js";
export { RoundRobinBalancer } from "./loadbalancer.js";
export { ProxyMetrics } from "./metrics.js";
export { type Proxy, type ProxyOptions, startProxy } from "./proxy.js";
export { SyncRunner } from "./runner.js";
export { DEFAULT_HEALTHZ_PORT, DEFAULT_METRICS_PORT, healthStatus } from "./server.js";
export { UserspaceBackend } from "./userspace/index.js";
