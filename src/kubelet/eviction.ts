// Node-pressure eviction for the memory.available signal (pkg/kubelet/eviction): when available
// memory drops below the hard threshold the node reports MemoryPressure and, each check, evicts
// the first pod of upstream's memory ranking — pods using more than they requested, then lower
// priority, then the largest use above request — one pod per check, never a critical pod.
import { readFile } from "node:fs/promises";
import { freemem } from "node:os";
import { Counter, type Registry } from "prom-client";
import { Quantity } from "../api/quantity.js";
import type { KubeObject } from "../api/types.js";
import { type Clock, realClock, type TimerHandle } from "../client/clock.js";
import { type Obj, record } from "./fields.js";
import { containerResources, isCriticalPod } from "./qos.js";

export interface PodUsage {
  pod: KubeObject;
  /** Working set of the whole pod, bytes. */
  memoryBytes: number;
  /** Per-container working sets, for the eviction message; a one-container pod may leave it out. */
  containers?: Array<{ name: string; memoryBytes: number }>;
}

export interface EvictionOptions {
  clock?: Clock;
  memoryAvailableBytes(): Promise<number>;
  /** Hard eviction threshold for memory.available; default 100Mi (upstream's evictionHard default). */
  thresholdBytes?: number;
  podUsage(): Promise<PodUsage[]>;
  evict(pod: KubeObject, message: string): Promise<void>;
  /** Check period; default 10 s (upstream's housekeeping interval). */
  intervalMs?: number;
  /** How long available memory must stay above the threshold before pressure clears; default 0
   *  (upstream's evictionPressureTransitionPeriod is 5 min). */
  pressureTransitionPeriodMs?: number;
  registry?: Registry;
  onPressureChange?(underPressure: boolean): void;
  log?: (m: string) => void;
}

const MEMORY_SIGNAL = "memory.available";

function containerList(pod: KubeObject, key: string): Obj[] {
  const v = record(pod.spec)[key];
  return Array.isArray(v) ? v.map(record) : [];
}
function memoryRequest(c: Obj): bigint {
  return containerResources(c).requests.memory?.value() ?? 0n;
}

/** The pod's effective memory request: regular containers plus sidecars, or the largest init container if more. */
export function podMemoryRequestBytes(pod: KubeObject): bigint {
  let sum = 0n;
  for (const c of containerList(pod, "containers")) sum += memoryRequest(c);
  let sidecars = 0n;
  let initMax = 0n;
  for (const c of containerList(pod, "initContainers")) {
    if (c.restartPolicy === "Always") sidecars += memoryRequest(c);
    else {
      const need = sidecars + memoryRequest(c);
      if (need > initMax) initMax = need;
    }
  }
  sum += sidecars;
  return sum > initMax ? sum : initMax;
}

function priority(pod: KubeObject): number {
  const p = record(pod.spec).priority;
  return typeof p === "number" ? p : 0;
}

/** rankMemoryPressure: exceeds-request first, then lower priority, then more use above request. */
export function rankForMemoryEviction(pods: PodUsage[]): PodUsage[] {
  const keyed = pods.map((u) => {
    const above = BigInt(Math.floor(u.memoryBytes)) - podMemoryRequestBytes(u.pod);
    return { u, exceeds: above > 0n, priority: priority(u.pod), above };
  });
  keyed.sort((a, b) => {
    if (a.exceeds !== b.exceeds) return a.exceeds ? -1 : 1;
    if (a.priority !== b.priority) return a.priority < b.priority ? -1 : 1;
    return a.above === b.above ? 0 : a.above > b.above ? -1 : 1;
  });
  return keyed.map((k) => k.u);
}

function binary(bytes: number | bigint): string {
  return Quantity.fromValue(BigInt(Math.floor(Number(bytes))), "BinarySI").toString();
}

/** evictionMessage for memory, with upstream's wording (and its trailing space). */
export function memoryEvictionMessage(
  usage: PodUsage,
  thresholdBytes: number,
  availableBytes: number,
): string {
  let message = "The node was low on resource: memory. ";
  message += `Threshold quantity: ${binary(thresholdBytes)}, available: ${binary(Math.max(0, availableBytes))}. `;
  const specs = containerList(usage.pod, "containers");
  const stats =
    usage.containers ??
    (specs.length === 1 ? [{ name: String(specs[0]!.name ?? ""), memoryBytes: usage.memoryBytes }] : []);
  for (const s of stats) {
    const spec = specs.find((c) => c.name === s.name);
    if (!spec) continue;
    const request = containerResources(spec).requests.memory ?? new Quantity(0n);
    const used = Quantity.fromValue(BigInt(Math.floor(s.memoryBytes)), "BinarySI");
    if (used.cmp(request) > 0)
      message += `Container ${s.name} was using ${used.toString()}, request is ${request.toString()}, has larger consumption of memory. `;
  }
  return message;
}

export class EvictionManager {
  private readonly clock: Clock;
  private readonly thresholdBytes: number;
  private readonly intervalMs: number;
  private readonly evictions: Counter<"eviction_signal"> | undefined;
  private timer: TimerHandle | undefined;
  private running = false;
  private checking: Promise<void> | undefined;
  private underPressure = false;
  private relievedSince: number | undefined;

  constructor(private readonly opts: EvictionOptions) {
    this.clock = opts.clock ?? realClock;
    this.thresholdBytes = opts.thresholdBytes ?? 100 * 1024 * 1024;
    this.intervalMs = opts.intervalMs ?? 10_000;
    if (opts.registry) {
      this.evictions =
        (opts.registry.getSingleMetric("kubelet_evictions") as Counter<"eviction_signal"> | undefined) ??
        new Counter({
          name: "kubelet_evictions",
          help: "Cumulative number of pod evictions by eviction signal",
          labelNames: ["eviction_signal"],
          registers: [opts.registry],
        });
    }
  }

  /** Whether the node is currently under memory pressure. */
  get pressure(): boolean {
    return this.underPressure;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleNext();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private scheduleNext(): void {
    if (!this.running) return;
    this.timer = this.clock.after(this.intervalMs, () => {
      void this.checkOnce().finally(() => this.scheduleNext());
    });
  }

  /** One synchronize pass; concurrent callers share the pass in flight. */
  checkOnce(): Promise<void> {
    this.checking ??= this.synchronize().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private setPressure(value: boolean): void {
    if (value === this.underPressure) return;
    this.underPressure = value;
    this.opts.onPressureChange?.(value);
  }

  private async synchronize(): Promise<void> {
    let available: number;
    try {
      available = await this.opts.memoryAvailableBytes();
    } catch (err) {
      this.opts.log?.(`eviction manager: cannot observe memory.available: ${(err as Error).message}`);
      return;
    }
    if (available >= this.thresholdBytes) {
      this.relievedSince ??= this.clock.now();
      if (this.clock.now() - this.relievedSince >= (this.opts.pressureTransitionPeriodMs ?? 0))
        this.setPressure(false);
      return;
    }
    this.relievedSince = undefined;
    this.setPressure(true);
    const ranked = rankForMemoryEviction(await this.opts.podUsage());
    for (const usage of ranked) {
      // Static, mirror and system-critical pods are never evicted.
      if (isCriticalPod(usage.pod)) continue;
      const message = memoryEvictionMessage(usage, this.thresholdBytes, available);
      try {
        await this.opts.evict(usage.pod, message);
      } catch (err) {
        this.opts.log?.(
          `eviction manager: evicting ${usage.pod.metadata?.namespace}/${usage.pod.metadata?.name} failed: ${(err as Error).message}`,
        );
        continue;
      }
      this.evictions?.inc({ eviction_signal: MEMORY_SIGNAL });
      this.opts.log?.(
        `eviction manager: evicted ${usage.pod.metadata?.namespace}/${usage.pod.metadata?.name}: ${message}`,
      );
      return;
    }
  }
}

/** memory.available from /proc/meminfo's MemAvailable (os.freemem() where that is missing). */
export async function memoryAvailableFromProcMeminfo(path = "/proc/meminfo"): Promise<number> {
  try {
    const text = await readFile(path, "utf8");
    const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(text);
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return freemem();
}
