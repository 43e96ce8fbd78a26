// The work queue's Prometheus metrics under client-go's names (workqueue_depth, _adds_total,
// _retries_total, _queue_duration_seconds, _work_duration_seconds, labelled by queue name), so
// controller-manager and scheduler /metrics show what upstream's do.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** What a WorkQueue reports; WorkQueuePrometheusMetrics is the usual implementation. */
export interface WorkQueueMetrics {
  added(queue: string): void;
  depth(queue: string, depth: number): void;
  retried(queue: string): void;
  /** Time an item waited in the queue before a worker took it. */
  waited(queue: string, seconds: number): void;
  /** Time a worker held an item. */
  worked(queue: string, seconds: number): void;
}

/** client-go's buckets: 1 µs to 10 s, ten per decade step of 10. */
const DURATION_BUCKETS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];

export class WorkQueuePrometheusMetrics implements WorkQueueMetrics {
  private readonly depthGauge: Gauge<"name">;
  private readonly adds: Counter<"name">;
  private readonly retries: Counter<"name">;
  private readonly queueDuration: Histogram<"name">;
  private readonly workDuration: Histogram<"name">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.depthGauge = new Gauge({
      name: "workqueue_depth",
      help: "Current depth of workqueue",
      labelNames: ["name"],
      registers,
    });
    this.adds = new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by workqueue",
      labelNames: ["name"],
      registers,
    });
    this.retries = new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by workqueue",
      labelNames: ["name"],
      registers,
    });
    this.queueDuration = new Histogram({
      name: "workqueue_queue_duration_seconds",
      help: "How long in seconds an item stays in workqueue before being requested.",
      labelNames: ["name"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.workDuration = new Histogram({
      name: "workqueue_work_duration_seconds",
      help: "How long in seconds processing an item from workqueue takes.",
      labelNames: ["name"],
      buckets: DURATION_BUCKETS,
      registers,
    });
  }

  added(queue: string): void {
    this.adds.inc({ name: queue });
  }

  depth(queue: string, depth: number): void {
    this.depthGauge.set({ name: queue }, depth);
  }

  retried(queue: string): void {
    this.retries.inc({ name: queue });
  }

  waited(queue: string, seconds: number): void {
    this.queueDuration.observe({ name: queue }, seconds);
  }

  worked(queue: string, seconds: number): void {
    this.workDuration.observe({ name: queue }, seconds);
  }
}
