// What a frontend socket needs from the userspace backend that owns it.
import type { RoundRobinBalancer } from "../loadbalancer.js";
import type { ProxyMetrics } from "../metrics.js";

export interface FrontendDeps {
  balancer: RoundRobinBalancer;
  metrics: ProxyMetrics;
  log: (message: string) => void;
  /** UDP: a client's session to its endpoint ends after this long without traffic either way. */
  udpIdleTimeoutMs: number;
}
