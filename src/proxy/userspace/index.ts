// The userspace proxy mode: a socket per frontend (TCP server or UDP socket on ClusterIP:port and
// nodeIP:nodePort) relaying to endpoints through the balancer. A sync updates the balancer at once,
// closes frontends no longer wanted (cutting their connections) and opens new ones. A frontend that
// cannot be bound (EADDRINUSE: in process mode every node's proxy shares the host's addresses, and
// another one already serves that ClusterIP) is logged once and retried every bindRetryMs, so this
// proxy takes over when the other stops.

import type { Clock } from "../../client/index.js";
import type { ProxyBackend } from "../backend.js";
import { type DesiredState, type Frontend, usableEndpoints } from "../desired.js";
import { RoundRobinBalancer } from "../loadbalancer.js";
import type { ProxyMetrics } from "../metrics.js";
import type { FrontendDeps } from "./deps.js";
import { TcpFrontend } from "./tcp.js";
import { UdpFrontend } from "./udp.js";

export { DIAL_TIMEOUTS_MS } from "./tcp.js";

export interface UserspaceOptions {
  metrics: ProxyMetrics;
  clock: Clock;
  log: (message: string) => void;
  /** Default 250 ms as upstream's --udp-timeout. */
  udpIdleTimeoutMs?: number;
  /** How often frontends that failed to bind are tried again; default 1 s. */
  bindRetryMs?: number;
}

type Listener = TcpFrontend | UdpFrontend;

export class UserspaceBackend implements ProxyBackend {
  readonly mode = "userspace";
  private readonly balancer: RoundRobinBalancer;
  private readonly deps: FrontendDeps;
  private readonly listeners = new Map<string, Listener>();
  /** Service ports the balancer holds, to drop those that went away. */
  private balancerKeys = new Set<string>();
  /** Frontends wanted but not bound, with the error already logged for them. */
  private readonly pending = new Map<string, { frontend: Frontend; error: string }>();
  private opening = new Map<string, Promise<void>>();
  private retry?: NodeJS.Timeout;
  private wanted = new Map<string, Frontend>();
  private stopped = false;
  private readonly bindRetryMs: number;

  constructor(private readonly opts: UserspaceOptions) {
    this.balancer = new RoundRobinBalancer(opts.clock);
    this.bindRetryMs = opts.bindRetryMs ?? 1000;
    this.deps = {
      balancer: this.balancer,
      metrics: opts.metrics,
      log: opts.log,
      udpIdleTimeoutMs: opts.udpIdleTimeoutMs ?? 250,
    };
  }

  async sync(state: DesiredState): Promise<void> {
    if (this.stopped) return;
    for (const sp of state.servicePorts.values())
      this.balancer.update(
        sp.key,
        usableEndpoints(sp).map((e) => `${e.ip}:${e.port}`),
        sp.affinityTimeoutSeconds,
      );
    for (const key of this.balancerKeys) if (!state.servicePorts.has(key)) this.balancer.remove(key);
    this.balancerKeys = new Set(state.servicePorts.keys());
    this.wanted = new Map(state.frontends);
    const closing: Promise<void>[] = [];
    for (const [key, listener] of this.listeners) {
      const want = state.frontends.get(key);
      if (want?.servicePort === listener.frontend.servicePort) continue;
      this.listeners.delete(key);
      closing.push(this.closeListener(listener));
    }
    for (const key of this.pending.keys()) if (!state.frontends.has(key)) this.pending.delete(key);
    await Promise.all(closing);
    await Promise.all([...state.frontends.values()].map((f) => this.ensureOpen(f)));
    this.scheduleRetry();
  }

  private async closeListener(listener: Listener): Promise<void> {
    this.opts.metrics.listeners.dec({ protocol: listener.frontend.protocol });
    await listener.close();
  }

  /** Opens the frontend unless it is open or being opened; bind errors leave it pending. */
  private ensureOpen(frontend: Frontend): Promise<void> {
    if (this.listeners.has(frontend.key)) return Promise.resolve();
    const inFlight = this.opening.get(frontend.key);
    if (inFlight !== undefined) return inFlight;
    const p = this.open(frontend).finally(() => this.opening.delete(frontend.key));
    this.opening.set(frontend.key, p);
    return p;
  }

  private async open(frontend: Frontend): Promise<void> {
    if (frontend.protocol === "SCTP") {
      this.notePending(frontend, "SCTP is not supported by the userspace proxy");
      return;
    }
    let listener: Listener;
    try {
      listener =
        frontend.protocol === "TCP"
          ? await TcpFrontend.open(frontend, this.deps)
          : await UdpFrontend.open(frontend, this.deps);
    } catch (err) {
      this.opts.metrics.bindFailures.inc({ protocol: frontend.protocol });
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === "EADDRINUSE"
          ? "address in use (another proxy on this host serves it); will take over when it is free"
          : (err as Error).message;
      this.notePending(frontend, why);
      return;
    }
    // The state may have moved on while binding (service deleted, or proxy stopped).
    if (this.stopped || this.wanted.get(frontend.key)?.servicePort !== frontend.servicePort) {
      await listener.close();
      return;
    }
    if (this.pending.delete(frontend.key))
      this.opts.log(`proxy: ${frontend.key} bound now (${frontend.servicePort})`);
    this.listeners.set(frontend.key, listener);
    this.opts.metrics.listeners.inc({ protocol: frontend.protocol });
  }

  private notePending(frontend: Frontend, error: string): void {
    const before = this.pending.get(frontend.key);
    if (before?.error !== error)
      this.opts.log(`proxy: cannot listen on ${frontend.key} for ${frontend.servicePort}: ${error}`);
    this.pending.set(frontend.key, { frontend, error });
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retry !== undefined) return;
    const retriable = [...this.pending.values()].some((p) => p.frontend.protocol !== "SCTP");
    if (!retriable) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      const due = [...this.pending.values()].map((p) => p.frontend).filter((f) => this.wanted.has(f.key));
      void Promise.all(due.map((f) => this.ensureOpen(f))).then(() => this.scheduleRetry());
    }, this.bindRetryMs);
    this.retry.unref();
  }

  frontends(): { bound: string[]; pending: string[] } {
    return { bound: [...this.listeners.keys()].sort(), pending: [...this.pending.keys()].sort() };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await Promise.allSettled([...this.opening.values()]);
    const all = [...this.listeners.values()];
    this.listeners.clear();
    this.pending.clear();
    await Promise.all(all.map((l) => this.closeListener(l)));
  }
}
