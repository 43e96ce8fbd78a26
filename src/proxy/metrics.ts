// kube-proxy's metrics under upstream's names (kubeproxy_sync_proxy_rules_*), plus the userspace
// mode's own, prefixed kubeproxy_userspace_, for what only a proxy that carries the bytes can see.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Upstream's buckets for sync durations: 1 ms doubling, 15 buckets. */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

export class ProxyMetrics {
  readonly syncDuration: Histogram;
  readonly lastSync: Gauge;
  readonly lastQueued: Gauge;
  readonly endpointChanges: Counter;
  readonly serviceChanges: Counter;
  readonly connections: Counter<"protocol">;
  readonly activeConnections: Gauge<"protocol">;
  readonly rejected: Counter<"protocol">;
  readonly dialFailures: Counter;
  readonly listeners: Gauge<"protocol">;
  readonly bindFailures: Counter<"protocol">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.syncDuration = new Histogram({
      name: "kubeproxy_sync_proxy_rules_duration_seconds",
      help: "SyncProxyRules latency in seconds",
      buckets: SYNC_BUCKETS,
      registers,
    });
    this.lastSync = new Gauge({
      name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
      help: "The last time proxy rules were successfully synced",
      registers,
    });
    this.lastQueued = new Gauge({
      name: "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
      help: "The last time a sync of proxy rules was queued",
      registers,
    });
    this.endpointChanges = new Counter({
      name: "kubeproxy_sync_proxy_rules_endpoint_changes_total",
      help: "Cumulative proxy rules Endpoint changes",
      registers,
    });
    this.serviceChanges = new Counter({
      name: "kubeproxy_sync_proxy_rules_service_changes_total",
      help: "Cumulative proxy rules Service changes",
      registers,
    });
    this.connections = new Counter({
      name: "kubeproxy_userspace_connections_total",
      help: "Connections (TCP) and sessions (UDP) proxied to an endpoint",
      labelNames: ["protocol"],
      registers,
    });
    this.activeConnections = new Gauge({
      name: "kubeproxy_userspace_active_connections",
      help: "TCP connections and UDP sessions open through the proxy",
      labelNames: ["protocol"],
      registers,
    });
    this.rejected = new Counter({
      name: "kubeproxy_userspace_rejected_connections_total",
      help: "Connections or datagrams dropped because no endpoint could be reached",
      labelNames: ["protocol"],
      registers,
    });
    this.dialFailures = new Counter({
      name: "kubeproxy_userspace_endpoint_dial_failures_total",
      help: "TCP dials to an endpoint that failed (each is retried on the next endpoint)",
      registers,
    });
    this.listeners = new Gauge({
      name: "kubeproxy_userspace_listeners",
      help: "Frontend sockets (ClusterIP and NodePort) this proxy holds",
      labelNames: ["protocol"],
      registers,
    });
    this.bindFailures = new Counter({
      name: "kubeproxy_userspace_bind_failures_total",
      help: "Attempts to open a frontend socket that failed (EADDRINUSE when another proxy holds it)",
      labelNames: ["protocol"],
      registers,
    });
  }
}
