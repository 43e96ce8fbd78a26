// Probe workers per container, as pkg/kubelet/prober: one worker per configured probe kind that
// waits initialDelaySeconds, probes every periodSeconds and changes its result only after
// successThreshold/failureThreshold consecutive results. A startup probe holds back liveness and
// readiness until it passes; a failed liveness or startup result is reported once and the worker
// then stays on hold until the kubelet starts a new container (startContainer again).
import { performance } from "node:perf_hooks";
import { Counter, Histogram, type Registry } from "prom-client";
import type { KubeObject } from "../api/types.js";
import { type Clock, realClock, type TimerHandle } from "../client/clock.js";
import { type Obj, record } from "./fields.js";
import { type ProbeKind, type ProbeResult, type ProbeTarget, runProbe } from "./probes.js";

export type { ProbeKind, ProbeTarget } from "./probes.js";
export { runProbe } from "./probes.js";

export interface ProberOptions {
  clock?: Clock;
  registry?: Registry;
  /** A probe kind's result changed: readiness both ways, startup passed/failed, liveness failed (restart it). */
  onChange(podUid: string, container: string, kind: ProbeKind, ok: boolean): void;
  /** Every probe attempt's outcome (e.g. for Unhealthy events); optional. */
  onProbe?(podUid: string, container: string, kind: ProbeKind, result: ProbeResult): void;
  /** Replaces runProbe (tests). */
  runProbe?(probe: Record<string, unknown>, target: ProbeTarget): Promise<ProbeResult>;
}

const KIND_FIELD: Record<ProbeKind, string> = {
  startup: "startupProbe",
  liveness: "livenessProbe",
  readiness: "readinessProbe",
};
const METRIC_TYPE: Record<ProbeKind, string> = {
  startup: "Startup",
  liveness: "Liveness",
  readiness: "Readiness",
};

function positive(v: unknown, fallback: number): number {
  return typeof v === "number" && v > 0 ? v : fallback;
}

interface Worker {
  kind: ProbeKind;
  probe: Obj;
  /** Current published result. */
  ok: boolean;
  lastOk: boolean | undefined;
  run: number;
  onHold: boolean;
  timer?: TimerHandle;
  stopped: boolean;
}

interface ContainerProbes {
  pod: KubeObject;
  name: string;
  containerId: string;
  target: ProbeTarget;
  workers: Map<ProbeKind, Worker>;
}

interface Metrics {
  total: Counter<string>;
  duration: Histogram<string>;
}

function metrics(registry: Registry): Metrics {
  const existingTotal = registry.getSingleMetric("prober_probe_total");
  const existingDuration = registry.getSingleMetric("prober_probe_duration_seconds");
  return {
    total:
      (existingTotal as Counter<string> | undefined) ??
      new Counter({
        name: "prober_probe_total",
        help: "Cumulative number of a liveness, readiness or startup probe for a container by result.",
        labelNames: ["probe_type", "result", "container", "pod", "namespace", "pod_uid"],
        registers: [registry],
      }),
    duration:
      (existingDuration as Histogram<string> | undefined) ??
      new Histogram({
        name: "prober_probe_duration_seconds",
        help: "Duration in seconds for a probe response.",
        labelNames: ["probe_type", "container", "pod", "namespace"],
        registers: [registry],
      }),
  };
}

export class ProberManager {
  private readonly clock: Clock;
  private readonly metrics: Metrics | undefined;
  private readonly containers = new Map<string, ContainerProbes>();

  constructor(private readonly opts: ProberOptions) {
    this.clock = opts.clock ?? realClock;
    this.metrics = opts.registry ? metrics(opts.registry) : undefined;
  }

  private static key(podUid: string, container: string): string {
    return `${podUid}/${container}`;
  }

  /** Starts the container's probes; a previous container of the same name is forgotten first. */
  startContainer(pod: KubeObject, containerName: string, containerId: string, target: ProbeTarget): void {
    const uid = pod.metadata?.uid ?? "";
    this.stopContainer(uid, containerName);
    const spec = record(pod.spec);
    const all = [
      ...(Array.isArray(spec.containers) ? spec.containers : []),
      ...(Array.isArray(spec.initContainers) ? spec.initContainers : []),
    ];
    const container = record(all.map(record).find((c) => c.name === containerName));
    const entry: ContainerProbes = { pod, name: containerName, containerId, target, workers: new Map() };
    this.containers.set(ProberManager.key(uid, containerName), entry);
    for (const kind of ["startup", "liveness", "readiness"] as const) {
      const probe = container[KIND_FIELD[kind]];
      if (typeof probe !== "object" || probe === null) continue;
      // Initial results as upstream: liveness passes, readiness fails, startup unknown (not started).
      const worker: Worker = {
        kind,
        probe: record(probe),
        ok: kind === "liveness",
        lastOk: undefined,
        run: 0,
        onHold: false,
        stopped: false,
      };
      entry.workers.set(kind, worker);
      this.schedule(entry, worker, positive(worker.probe.initialDelaySeconds, 0) * 1000);
    }
  }

  stopContainer(podUid: string, containerName: string): void {
    const key = ProberManager.key(podUid, containerName);
    const entry = this.containers.get(key);
    if (!entry) return;
    for (const w of entry.workers.values()) {
      w.stopped = true;
      w.timer?.cancel();
    }
    this.containers.delete(key);
  }

  removePod(podUid: string): void {
    for (const entry of [...this.containers.values()]) {
      if ((entry.pod.metadata?.uid ?? "") === podUid) this.stopContainer(podUid, entry.name);
    }
  }

  /** Readiness: the probe's result, or started() when the container has no readiness probe. */
  ready(podUid: string, container: string): boolean {
    const entry = this.containers.get(ProberManager.key(podUid, container));
    if (!entry) return false;
    const readiness = entry.workers.get("readiness");
    return readiness ? readiness.ok : this.started(podUid, container);
  }

  /** The startup probe passed, or the container has none. False for containers not started here. */
  started(podUid: string, container: string): boolean {
    const entry = this.containers.get(ProberManager.key(podUid, container));
    if (!entry) return false;
    return entry.workers.get("startup")?.ok ?? true;
  }

  stop(): void {
    for (const entry of [...this.containers.values()])
      this.stopContainer(entry.pod.metadata?.uid ?? "", entry.name);
  }

  private schedule(entry: ContainerProbes, worker: Worker, delayMs: number): void {
    // On hold (failed liveness/startup) or a passed startup probe: nothing left to probe.
    if (worker.stopped || worker.onHold || (worker.kind === "startup" && worker.ok)) return;
    worker.timer = this.clock.after(delayMs, () => {
      void this.tick(entry, worker).finally(() =>
        this.schedule(entry, worker, positive(worker.probe.periodSeconds, 10) * 1000),
      );
    });
  }

  private async tick(entry: ContainerProbes, worker: Worker): Promise<void> {
    if (worker.stopped || worker.onHold) return;
    const uid = entry.pod.metadata?.uid ?? "";
    const started = entry.workers.get("startup")?.ok ?? true;
    // Startup probing ends once it passed; the others wait for it.
    if (worker.kind === "startup" ? started : !started) return;
    const begin = performance.now();
    let result: ProbeResult;
    try {
      result = await (this.opts.runProbe ?? runProbe)(worker.probe, entry.target);
    } catch (err) {
      result = { ok: false, output: err instanceof Error ? err.message : String(err) };
    }
    if (worker.stopped) return;
    this.record(entry, worker.kind, result.ok, (performance.now() - begin) / 1000);
    this.opts.onProbe?.(uid, entry.name, worker.kind, result);

    if (worker.lastOk === result.ok) worker.run++;
    else {
      worker.lastOk = result.ok;
      worker.run = 1;
    }
    const threshold = result.ok
      ? positive(worker.probe.successThreshold, 1)
      : positive(worker.probe.failureThreshold, 3);
    if (worker.run < threshold) return;
    const changed = worker.ok !== result.ok || (!result.ok && worker.kind !== "readiness");
    worker.ok = result.ok;
    if (!result.ok && worker.kind !== "readiness") {
      // The container will be restarted; stop probing it until a new one starts.
      worker.onHold = true;
      worker.run = 0;
    }
    if (changed) this.opts.onChange(uid, entry.name, worker.kind, result.ok);
  }

  private record(entry: ContainerProbes, kind: ProbeKind, ok: boolean, seconds: number): void {
    if (!this.metrics) return;
    const labels = {
      probe_type: METRIC_TYPE[kind],
      container: entry.name,
      pod: entry.pod.metadata?.name ?? "",
      namespace: entry.pod.metadata?.namespace ?? "",
    };
    this.metrics.total.inc({
      ...labels,
      result: ok ? "successful" : "failed",
      pod_uid: entry.pod.metadata?.uid ?? "",
    });
    if (ok) this.metrics.duration.observe(labels, seconds);
  }
}
