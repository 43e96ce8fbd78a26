// The running kube-scheduler: its own high-QPS REST client (binding at 1,000 pods/s needs far more
// than client-go's 50 qps default), an event recorder as "default-scheduler", the metrics, and
// leader election on Lease kube-system/kube-scheduler. Only the leader runs a SchedulerRunner; a
// scheduler that loses the lease drops its state and campaigns again.
import { Registry } from "prom-client";
import { ContinuousLeaderElection, EventRecorder, RestClient } from "../client/index.js";
import { SchedulerMetrics } from "./metrics.js";
import { DEFAULT_SCHEDULER_NAME, SchedulerRunner } from "./runner.js";

export interface SchedulerConfig {
  client: RestClient;
  registry?: Registry;
  /** Holder identity on the lease and the events' reporting instance. */
  identity: string;
  /** Default true. */
  leaderElect?: boolean;
  log?: (message: string) => void;
  /** Pods served: spec.schedulerName (empty means default-scheduler). */
  schedulerName?: string;
  /** Binds in flight at once; default 128 (binds queue behind every other write at the apiserver). */
  bindConcurrency?: number;
  /** Client-side rate limit of the scheduler's own client; default 5,000 qps, burst 5,000. */
  qps?: number;
  burst?: number;
  /** Tie-break seed; default 1. */
  seed?: number;
  /** Queue back-off (default 1 s doubling to 10 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Lease timing (defaults 15 s / 10 s / 2 s as upstream). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface RunningScheduler {
  /** True while this instance leads (always true without leader election once started). */
  isLeader(): boolean;
  stop(): Promise<void>;
}

export function startScheduler(config: SchedulerConfig): RunningScheduler {
  const log = config.log ?? (() => {});
  const client = new RestClient({
    ...config.client.config,
    qps: config.qps ?? 5_000,
    burst: config.burst ?? 5_000,
    userAgent: config.client.config.userAgent ?? "kite-scheduler",
  });
  // Its own connections, as upstream's leader-election client: renewals never wait behind binds.
  const electionClient = new RestClient({
    ...config.client.config,
    userAgent: `${config.client.config.userAgent ?? "kite-scheduler"}/leader-election`,
  });
  const registry = config.registry ?? new Registry();
  const schedulerName = config.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  const recorder = new EventRecorder(client, { component: schedulerName, host: config.identity, log });
  let runner: SchedulerRunner | undefined;
  const metrics = new SchedulerMetrics(
    registry,
    schedulerName,
    () => runner?.queue.pending() ?? { active: 0, backoff: 0, unschedulable: 0 },
  );
  let stopped = false;
  let leading = false;
  let transition: Promise<void> = Promise.resolve();

  const lead = () => {
    leading = true;
    const next = new SchedulerRunner({
      client,
      recorder,
      metrics,
      schedulerName,
      bindConcurrency: config.bindConcurrency ?? 128,
      seed: config.seed ?? 1,
      initialBackoffMs: config.initialBackoffMs,
      maxBackoffMs: config.maxBackoffMs,
      log,
    });
    runner = next;
    transition = transition.then(() => next.start());
  };
  const unlead = () => {
    leading = false;
    const old = runner;
    runner = undefined;
    transition = transition.then(() => old?.stop());
  };

  let election: ContinuousLeaderElection | undefined;
  if (config.leaderElect === false) lead();
  else {
    election = new ContinuousLeaderElection({
      client: electionClient,
      namespace: "kube-system",
      name: "kube-scheduler",
      identity: config.identity,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      releaseOnCancel: true,
      log,
      callbacks: {
        onStartedLeading: () => {
          log(`scheduler ${config.identity} is the leader`);
          lead();
        },
        onStoppedLeading: () => {
          log(`scheduler ${config.identity} stopped leading`);
          unlead();
        },
      },
    });
  }

  return {
    isLeader: () => leading,
    async stop() {
      if (stopped) return;
      stopped = true;
      await election?.stop();
      if (runner !== undefined) unlead();
      await transition;
      await recorder.flush();
      client.close();
      electionClient.close();
    },
  };
}
