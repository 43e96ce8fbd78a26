// The kubelet's Prometheus metrics under upstream's names: kubelet_node_name, kubelet_running_pods,
// kubelet_running_containers{container_state} (read from the runtime when scraped),
// kubelet_pod_start_duration_seconds, kubelet_pod_worker_duration_seconds{operation},
// kubelet_started_containers_total, and kubelet_started_containers_errors_total
// (kubelet_evictions is the eviction manager's).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Upstream's pod start buckets (seconds). */
const POD_START_BUCKETS = [
  0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700,
  3600,
];
/** Exponential from 5 ms, as the kubelet's default histograms. */
const WORKER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class KubeletMetrics {
  readonly podStartDuration: Histogram;
  readonly podWorkerDuration: Histogram<"operation">;
  readonly startedContainers: Counter<"container_type">;
  readonly startedContainerErrors: Counter<"container_type" | "code">;

  constructor(
    registry: Registry,
    nodeName: string,
    read: { runningPods(): number; containerStates(): Record<string, number> },
  ) {
    const registers = [registry];
    const nodeGauge = new Gauge({
      name: "kubelet_node_name",
      help: "The node's name. The count is always 1.",
      labelNames: ["node"],
      registers,
    });
    nodeGauge.set({ node: nodeName }, 1);
    new Gauge({
      name: "kubelet_running_pods",
      help: "Number of pods that have a running pod sandbox",
      registers,
      collect() {
        this.set(read.runningPods());
      },
    });
    new Gauge({
      name: "kubelet_running_containers",
      help: "Number of containers currently running",
      labelNames: ["container_state"],
      registers,
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(read.containerStates()))
          this.set({ container_state: state }, n);
      },
    });
    this.podStartDuration = new Histogram({
      name: "kubelet_pod_start_duration_seconds",
      help: "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
      buckets: POD_START_BUCKETS,
      registers,
    });
    this.podWorkerDuration = new Histogram({
      name: "kubelet_pod_worker_duration_seconds",
      help: "Duration in seconds to sync a single pod. Broken down by operation type: create, update, or sync",
      labelNames: ["operation"],
      buckets: WORKER_BUCKETS,
      registers,
    });
    this.startedContainers = new Counter({
      name: "kubelet_started_containers_total",
      help: "Cumulative number of containers started",
      labelNames: ["container_type"],
      registers,
    });
    this.startedContainerErrors = new Counter({
      name: "kubelet_started_containers_errors_total",
      help: "Cumulative number of errors when starting containers",
      labelNames: ["container_type", "code"],
      registers,
    });
  }
}
