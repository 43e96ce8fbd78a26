// The scheduler's Prometheus metrics under upstream's names: scheduler_schedule_attempts_total{result,
// profile}, scheduler_scheduling_attempt_duration_seconds{result, profile} (scheduling plus binding of
// one attempt) and scheduler_pending_pods{queue}, read from the queue when scraped.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type AttemptResult = "scheduled" | "unschedulable" | "error";

/** Upstream's buckets: exponential from 1 ms, factor 2, 15 buckets. */
const ATTEMPT_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

export class SchedulerMetrics {
  private readonly attempts: Counter<"result" | "profile">;
  private readonly attemptDuration: Histogram<"result" | "profile">;

  constructor(
    registry: Registry,
    private readonly profile: string,
    pending: () => { active: number; backoff: number; unschedulable: number },
  ) {
    const registers = [registry];
    this.attempts = new Counter({
      name: "scheduler_schedule_attempts_total",
      help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
      labelNames: ["result", "profile"],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: "scheduler_scheduling_attempt_duration_seconds",
      help: "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
      labelNames: ["result", "profile"],
      buckets: ATTEMPT_BUCKETS,
      registers,
    });
    new Gauge({
      name: "scheduler_pending_pods",
      help: "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.",
      labelNames: ["queue"],
      registers,
      collect() {
        const p = pending();
        this.set({ queue: "active" }, p.active);
        this.set({ queue: "backoff" }, p.backoff);
        this.set({ queue: "unschedulable" }, p.unschedulable);
        this.set({ queue: "gated" }, 0);
      },
    });
  }

  attempt(result: AttemptResult, seconds: number): void {
    this.attempts.inc({ result, profile: this.profile });
    this.attemptDuration.observe({ result, profile: this.profile }, seconds);
  }
}
