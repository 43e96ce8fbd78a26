// Endpoint choice per service port, as upstream's userspace LoadBalancerRR: round robin over the
// usable endpoints, or, with sessionAffinity ClientIP, the endpoint a client used last while that
// was less than the timeout ago. A retry after a failed dial asks with resetAffinity so a sticky
// client moves on to the next endpoint instead of the dead one.
import type { Clock } from "../client/index.js";

interface Affinity {
  endpoint: string;
  lastUsedMs: number;
}

interface Balancer {
  endpoints: string[];
  next: number;
  affinityTimeoutMs?: number;
  affinity: Map<string, Affinity>;
}

export class RoundRobinBalancer {
  private readonly services = new Map<string, Balancer>();

  constructor(private readonly clock: Clock) {}

  /** Sets a service port's endpoints ("ip:port") and affinity; a changed list restarts the rotation. */
  update(service: string, endpoints: string[], affinityTimeoutSeconds?: number): void {
    const timeoutMs = affinityTimeoutSeconds === undefined ? undefined : affinityTimeoutSeconds * 1000;
    const b = this.services.get(service);
    if (b === undefined) {
      this.services.set(service, {
        endpoints: [...endpoints],
        next: 0,
        affinityTimeoutMs: timeoutMs,
        affinity: new Map(),
      });
      return;
    }
    if (b.affinityTimeoutMs !== timeoutMs) {
      b.affinityTimeoutMs = timeoutMs;
      b.affinity.clear();
    }
    if (b.endpoints.length === endpoints.length && b.endpoints.every((e, i) => e === endpoints[i])) return;
    const still = new Set(endpoints);
    for (const [client, a] of b.affinity) if (!still.has(a.endpoint)) b.affinity.delete(client);
    b.endpoints = [...endpoints];
    b.next = 0;
  }

  remove(service: string): void {
    this.services.delete(service);
  }

  /** The endpoint for a new connection from clientIP, or undefined when there is none. */
  next(service: string, clientIP: string, resetAffinity = false): string | undefined {
    const b = this.services.get(service);
    if (b === undefined || b.endpoints.length === 0) return undefined;
    const now = this.clock.now();
    if (b.affinityTimeoutMs !== undefined && !resetAffinity) {
      const a = b.affinity.get(clientIP);
      if (a !== undefined && now - a.lastUsedMs < b.affinityTimeoutMs) {
        a.lastUsedMs = now;
        return a.endpoint;
      }
    }
    const endpoint = b.endpoints[b.next % b.endpoints.length]!;
    b.next = (b.next + 1) % b.endpoints.length;
    if (b.affinityTimeoutMs !== undefined) {
      b.affinity.set(clientIP, { endpoint, lastUsedMs: now });
      if (b.affinity.size > 4096) this.expire(b, now);
    }
    return endpoint;
  }

  /** Drops affinity records that timed out (bounded memory under many clients). */
  private expire(b: Balancer, now: number): void {
    for (const [client, a] of b.affinity)
      if (now - a.lastUsedMs >= (b.affinityTimeoutMs ?? 0)) b.affinity.delete(client);
  }

  endpointsOf(service: string): string[] {
    return this.services.get(service)?.endpoints ?? [];
  }
}
