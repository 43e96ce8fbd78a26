// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package: a
// candidate takes the lease when it is free, expired (judged by when this candidate last saw it
// change, on its own clock) or already its own; the leader renews every retryPeriod and gives up
// when it cannot renew within renewDeadline. Writes carry the lease's resourceVersion, so two
// candidates racing for an expired lease cannot both win.
import { isStatusError, type KubeObject } from "../api/index.js";
import { type Clock, realClock, sleep } from "./clock.js";
import type { ResourceClient } from "./resource.js";
import type { RestClient } from "./rest.js";

export const LEASES = { group: "coordination.k8s.io", version: "v1", resource: "leases" } as const;

/** metav1.MicroTime's wire form: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export interface LeaderCallbacks {
  /** Called once this candidate leads; the signal aborts when leadership ends. */
  onStartedLeading(signal: AbortSignal): void;
  /** Called when a candidate that led stops leading (lost the lease, or stopped). */
  onStoppedLeading?(): void;
  /** Called whenever the observed holder changes (including to this candidate). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionConfig {
  client: RestClient;
  namespace: string;
  name: string;
  identity: string;
  callbacks: LeaderCallbacks;
  /** Default 15 s; stored in whole seconds on the lease. */
  leaseDurationMs?: number;
  /** Default 10 s; must be shorter than the lease duration. */
  renewDeadlineMs?: number;
  /** Default 2 s. */
  retryPeriodMs?: number;
  /** On stop, hand the lease back so another candidate need not wait for it to expire. */
  releaseOnCancel?: boolean;
  clock?: Clock;
  log?: (message: string) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export class LeaderElector {
  private readonly leases: ResourceClient<Lease>;
  private readonly clock: Clock;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly stopSignal = new AbortController();
  private observed: { spec: LeaseSpec; at: number; raw: string } | undefined;
  private lease: Lease | undefined;
  private leading = false;
  private reportedLeader: string | undefined;
  private running: Promise<void> | undefined;
  private readonly log: (message: string) => void;

  constructor(private readonly config: LeaderElectionConfig) {
    this.leases = config.client.resource<Lease>(LEASES, config.namespace);
    this.clock = config.clock ?? realClock;
    this.leaseMs = config.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = config.renewDeadlineMs ?? 10_000;
    this.retryMs = config.retryPeriodMs ?? 2_000;
    this.log = config.log ?? (() => {});
    if (!config.identity) throw new Error("leader election needs an identity");
    if (this.leaseMs <= this.renewDeadlineMs)
      throw new Error("leaseDuration must be longer than renewDeadline");
    if (this.renewDeadlineMs <= this.retryMs)
      throw new Error("renewDeadline must be longer than retryPeriod");
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder this candidate last observed ("" when none). */
  getLeader(): string {
    return this.observed?.spec.holderIdentity ?? "";
  }

  /** Campaigns, then leads until the lease is lost or stop() is called. Resolves when done. */
  run(): Promise<void> {
    this.running ??= this.campaign();
    return this.running;
  }

  /** Stops campaigning or leading (releasing the lease when configured) and waits for run() to end. */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private async campaign(): Promise<void> {
    // Acquire: try every retryPeriod (with up to 20% jitter, as client-go's JitterUntil).
    while (!this.stopped && !(await this.tryAcquireOrRenew())) {
      await sleep(this.clock, this.retryMs * (1 + Math.random() * 0.2), this.stopSignal.signal);
    }
    if (this.stopped) return;
    this.leading = true;
    const leadership = new AbortController();
    this.log(`${this.config.identity} acquired lease ${this.config.namespace}/${this.config.name}`);
    try {
      this.config.callbacks.onStartedLeading(leadership.signal);
    } catch (err) {
      this.log(`onStartedLeading failed: ${(err as Error).message}`);
    }
    // Renew: each round retries every retryPeriod until renewed or renewDeadline passes.
    while (!this.stopped) {
      await sleep(this.clock, this.retryMs, this.stopSignal.signal);
      if (this.stopped) break;
      const deadline = this.clock.now() + this.renewDeadlineMs;
      let renewed = false;
      while (!this.stopped && !renewed) {
        renewed = await this.tryAcquireOrRenew();
        if (renewed || this.clock.now() + this.retryMs > deadline) break;
        await sleep(this.clock, this.retryMs, this.stopSignal.signal);
      }
      if (!renewed && !this.stopped) {
        this.log(
          `${this.config.identity} failed to renew lease ${this.config.namespace}/${this.config.name}`,
        );
        break;
      }
    }
    this.leading = false;
    leadership.abort();
    if (this.stopped && this.config.releaseOnCancel) await this.release();
    this.config.callbacks.onStoppedLeading?.();
  }

  private record(prev: LeaseSpec | undefined, now: number): LeaseSpec {
    const mine = prev?.holderIdentity === this.config.identity;
    return {
      holderIdentity: this.config.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseMs / 1000)),
      acquireTime: mine && prev?.acquireTime ? prev.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: mine ? (prev?.leaseTransitions ?? 0) : (prev?.leaseTransitions ?? -1) + 1,
    };
  }

  private observe(spec: LeaseSpec): void {
    const raw = JSON.stringify(spec);
    if (this.observed?.raw !== raw) this.observed = { spec, at: this.clock.now(), raw };
    const holder = spec.holderIdentity ?? "";
    if (holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      if (holder !== "") this.config.callbacks.onNewLeader?.(holder);
    }
  }

  /** One attempt; false when someone else holds a live lease, on a lost race, or on any error. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    try {
      let current: Lease;
      try {
        current = await this.leases.get(this.config.name, { timeoutMs: this.renewDeadlineMs });
      } catch (err) {
        if (!(isStatusError(err) && err.code === 404)) throw err;
        const spec = this.record(undefined, now);
        this.lease = await this.leases.create(
          {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.config.name, namespace: this.config.namespace },
            spec,
          },
          { timeoutMs: this.renewDeadlineMs },
        );
        this.observe(spec);
        return true;
      }
      const spec = current.spec ?? {};
      this.observe(spec);
      const holder = spec.holderIdentity ?? "";
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder !== "" && holder !== this.config.identity && this.observed!.at + durationMs > now)
        return false;
      const next = this.record(spec, now);
      this.lease = await this.leases.update(
        { ...current, spec: { ...spec, ...next } },
        { timeoutMs: this.renewDeadlineMs },
      );
      this.observe(next);
      return true;
    } catch (err) {
      // Conflicts (another candidate won the race) and transport errors both mean "not now".
      this.log(`${this.config.identity}: lease attempt failed: ${(err as Error).message}`);
      return false;
    }
  }

  /** Hands the lease back: no holder, 1 s duration, as client-go's release. */
  private async release(): Promise<void> {
    const lease = this.lease;
    if (lease?.spec?.holderIdentity !== this.config.identity) return;
    const now = microTime(this.clock.now());
    try {
      this.lease = await this.leases.update(
        {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
          },
        },
        { timeoutMs: this.renewDeadlineMs },
      );
    } catch (err) {
      this.log(`${this.config.identity}: releasing the lease failed: ${(err as Error).message}`);
    }
  }
}

/**
 * Campaigns again each time leadership is lost, as kube-controller-manager and kube-scheduler do
 * (upstream by restarting the process). `afterTerm` runs between terms, e.g. to finish stepping
 * down before campaigning again. stop() ends the current term and the loop.
 */
export class ContinuousLeaderElection {
  private current: LeaderElector | undefined;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(config: LeaderElectionConfig, afterTerm: () => Promise<void> = async () => {}) {
    this.loop = (async () => {
      while (!this.stopped) {
        this.current = new LeaderElector(config);
        await this.current.run();
        await afterTerm();
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.current?.stop();
    await this.loop;
  }
}
