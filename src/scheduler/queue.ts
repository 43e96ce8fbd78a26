// The scheduling queue: an active heap ordered by priority (spec.priority, higher first) and then by the
// time the pod entered the queue; a back-off set for pods that failed recently (1 s doubling to 10 s per
// attempt); and an unschedulable set for pods no node could take, which a cluster event moves back
// (to back-off if their back-off has not run out yet). Time comes from an injected clock; no I/O.
import type { KubeObject } from "../api/index.js";
import { podKey } from "./nodeinfo.js";

export interface Clock {
  /** Milliseconds. */
  now(): number;
}

export const podInitialBackoffMs = 1_000;
export const podMaxBackoffMs = 10_000;
/** Pods stuck as unschedulable this long are retried even without an event (upstream: 5 min). */
export const podMaxInUnschedulableMs = 5 * 60_000;

export type ClusterEvent =
  | "NodeAdd"
  | "NodeUpdate"
  | "AssignedPodAdd"
  | "AssignedPodUpdate"
  | "AssignedPodDelete";

/** Which rejecting plugins an event can turn around; a pod rejected by none of them stays put. */
const pluginsHelpedBy: Record<ClusterEvent, ReadonlySet<string> | "all"> = {
  NodeAdd: "all",
  NodeUpdate: "all",
  AssignedPodAdd: new Set(["InterPodAffinity"]),
  AssignedPodUpdate: new Set(["InterPodAffinity", "NodeResourcesFit"]),
  AssignedPodDelete: new Set(["NodeResourcesFit", "NodePorts", "InterPodAffinity"]),
};

export interface QueuedPod {
  pod: KubeObject;
  key: string;
  /** When the pod (re-)entered the queue. */
  timestamp: number;
  /** Scheduling attempts so far (incremented by pop). */
  attempts: number;
  /** Plugins that rejected the pod in its last attempt; empty means "any event may help". */
  unschedulablePlugins: Set<string>;
  /** The scheduling cycle in which the pod was last popped. */
  cycle: number;
  seq: number;
}

function priorityOf(pod: KubeObject): number {
  const p = Number(pod.spec?.priority ?? 0);
  return Number.isFinite(p) ? p : 0;
}

/** Binary heap on an explicit "comes first" relation. */
class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly first: (a: T, b: T) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  peek(): T | undefined {
    return this.items[0];
  }
  push(x: T): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.first(a[i] as T, a[parent] as T)) break;
      [a[i], a[parent]] = [a[parent] as T, a[i] as T];
      i = parent;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop() as T;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.first(a[l] as T, a[m] as T)) m = l;
        if (r < a.length && this.first(a[r] as T, a[m] as T)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as T, a[i] as T];
        i = m;
      }
    }
    return top;
  }
  /** Removes the entries failing `keep` (O(n)). */
  retain(keep: (x: T) => boolean): void {
    const kept = this.items.filter(keep);
    this.items.length = 0;
    for (const x of kept) this.push(x);
  }
}

export interface QueueOptions {
  clock: Clock;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxInUnschedulableMs?: number;
}

export class SchedulingQueue {
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;
  private readonly active = new Heap<QueuedPod>((a, b) => {
    const pa = priorityOf(a.pod);
    const pb = priorityOf(b.pod);
    if (pa !== pb) return pa > pb;
    return a.timestamp !== b.timestamp ? a.timestamp < b.timestamp : a.seq < b.seq;
  });
  private readonly backoff = new Heap<QueuedPod>((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  private readonly unschedulable = new Map<string, QueuedPod>();
  /** key -> where the pod is; "inFlight" between pop and done/addUnschedulable. */
  private readonly where = new Map<
    string,
    { q: "active" | "backoff" | "unschedulable" | "inFlight"; info: QueuedPod }
  >();
  private schedulingCycle = 0;
  private moveRequestCycle = -1;
  private seq = 0;

  constructor(opts: QueueOptions) {
    this.clock = opts.clock;
    this.initialBackoffMs = opts.initialBackoffMs ?? podInitialBackoffMs;
    this.maxBackoffMs = opts.maxBackoffMs ?? podMaxBackoffMs;
    this.maxInUnschedulableMs = opts.maxInUnschedulableMs ?? podMaxInUnschedulableMs;
  }

  /** Back-off after `attempts` failed attempts: initial, doubled per further attempt, capped. */
  backoffDuration(attempts: number): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < attempts; i++) {
      if (d > this.maxBackoffMs - d) return this.maxBackoffMs;
      d += d;
    }
    return Math.min(d, this.maxBackoffMs);
  }

  backoffExpiry(info: QueuedPod): number {
    return info.timestamp + this.backoffDuration(info.attempts);
  }

  private isBackingOff(info: QueuedPod): boolean {
    return info.attempts > 0 && this.backoffExpiry(info) > this.clock.now();
  }

  private toActive(info: QueuedPod): void {
    this.where.set(info.key, { q: "active", info });
    this.active.push(info);
  }

  private toBackoff(info: QueuedPod): void {
    this.where.set(info.key, { q: "backoff", info });
    this.backoff.push(info);
  }

  /** A new pending pod. Adding a pod already queued replaces its object (like update). */
  add(pod: KubeObject): void {
    const key = podKey(pod);
    const existing = this.where.get(key);
    if (existing) {
      this.update(pod);
      return;
    }
    this.toActive({
      pod,
      key,
      timestamp: this.clock.now(),
      attempts: 0,
      unschedulablePlugins: new Set(),
      cycle: 0,
      seq: this.seq++,
    });
  }

  /** The pod object changed; an unschedulable pod may now fit, so it is re-queued. */
  update(pod: KubeObject): void {
    const entry = this.where.get(podKey(pod));
    if (!entry) {
      this.add(pod);
      return;
    }
    entry.info.pod = pod;
    if (entry.q === "unschedulable") {
      this.unschedulable.delete(entry.info.key);
      if (this.isBackingOff(entry.info)) this.toBackoff(entry.info);
      else this.toActive(entry.info);
    } else if (entry.q === "active") {
      // Priority may have changed; re-heap.
      this.active.retain((x) => x.key !== entry.info.key);
      this.active.push(entry.info);
    }
  }

  delete(pod: KubeObject): void {
    const key = podKey(pod);
    const entry = this.where.get(key);
    if (!entry) return;
    this.where.delete(key);
    if (entry.q === "active") this.active.retain((x) => x.key !== key);
    else if (entry.q === "backoff") this.backoff.retain((x) => x.key !== key);
    else if (entry.q === "unschedulable") this.unschedulable.delete(key);
  }

  /**
   * The next pod to schedule, or undefined when none is ready (moves back-off pods whose time is up first).
   * The pod stays "in flight" until `done` or `addUnschedulable`.
   */
  pop(): QueuedPod | undefined {
    this.flush();
    const info = this.active.pop();
    if (!info) return undefined;
    info.attempts++;
    info.cycle = ++this.schedulingCycle;
    this.where.set(info.key, { q: "inFlight", info });
    return info;
  }

  /** The pod was bound (or given up on): forget it. */
  done(key: string): void {
    if (this.where.get(key)?.q === "inFlight") this.where.delete(key);
  }

  /**
   * A popped pod could not be scheduled. `plugins` are the rejecting plugins (empty for an error, which
   * always goes to back-off). If a cluster event arrived while it was in flight, it goes to back-off too,
   * since that event may already have made room.
   */
  addUnschedulable(info: QueuedPod, plugins: Iterable<string> = []): void {
    const entry = this.where.get(info.key);
    if (entry?.q !== "inFlight") return; // deleted meanwhile
    info.unschedulablePlugins = new Set(plugins);
    info.timestamp = this.clock.now();
    if (info.unschedulablePlugins.size === 0 || this.moveRequestCycle >= info.cycle) this.toBackoff(info);
    else {
      this.where.set(info.key, { q: "unschedulable", info });
      this.unschedulable.set(info.key, info);
    }
  }

  /** A cluster event may make unschedulable pods fit: move those it could help to back-off or active. */
  moveAllToActive(event: ClusterEvent): number {
    const helped = pluginsHelpedBy[event];
    let moved = 0;
    for (const [key, info] of this.unschedulable) {
      if (helped !== "all" && info.unschedulablePlugins.size > 0) {
        let hit = false;
        for (const p of info.unschedulablePlugins) if (helped.has(p)) hit = true;
        if (!hit) continue;
      }
      this.unschedulable.delete(key);
      if (this.isBackingOff(info)) this.toBackoff(info);
      else this.toActive(info);
      moved++;
    }
    this.moveRequestCycle = this.schedulingCycle;
    return moved;
  }

  /** Moves pods whose back-off ran out to active, and long-unschedulable pods back into play. */
  flush(): void {
    const now = this.clock.now();
    for (
      let head = this.backoff.peek();
      head && this.backoffExpiry(head) <= now;
      head = this.backoff.peek()
    ) {
      this.backoff.pop();
      this.toActive(head);
    }
    for (const [key, info] of this.unschedulable) {
      if (now - info.timestamp < this.maxInUnschedulableMs) continue;
      this.unschedulable.delete(key);
      if (this.isBackingOff(info)) this.toBackoff(info);
      else this.toActive(info);
    }
  }

  /** When the earliest back-off ends (for the caller's timer), or undefined. */
  nextBackoffExpiry(): number | undefined {
    const head = this.backoff.peek();
    return head ? this.backoffExpiry(head) : undefined;
  }

  /** Pending pods per sub-queue (scheduler_pending_pods{queue=...}). */
  pending(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size };
  }
}
