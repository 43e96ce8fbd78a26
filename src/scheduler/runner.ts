// One active scheduler: informers on nodes and non-terminal pods keep the Snapshot and the
// SchedulingQueue current; a loop pops pods, decides (schedulePod), assumes the pod on its node at
// once so the next decision sees it, and binds in the background with a bounded number of binds in
// flight (upstream's binding cycle). A failed decision gets upstream's FailedScheduling event and a
// PodScheduled=False condition; a failed bind forgets the assumed pod and backs the pod off.
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { isStatusError, type KubeObject } from "../api/index.js";
import {
  deletedObject,
  type EventRecorder,
  type RestClient,
  type SharedIndexInformer,
  SharedInformerFactory,
} from "../client/index.js";
import type { SchedulerMetrics } from "./metrics.js";
import { podKey, Snapshot } from "./nodeinfo.js";
import { type ClusterEvent, type QueuedPod, SchedulingQueue } from "./queue.js";
import { type FitError, Rng, schedulePod } from "./schedule.js";

export const DEFAULT_SCHEDULER_NAME = "default-scheduler";
const PODS = { group: "", version: "v1", resource: "pods" } as const;
const NODES = { group: "", version: "v1", resource: "nodes" } as const;
/** validation.NoteLengthLimit: events carry at most this much of the message. */
const NOTE_LENGTH_LIMIT = 1024;

export interface RunnerOptions {
  client: RestClient;
  recorder: EventRecorder;
  metrics: SchedulerMetrics;
  schedulerName: string;
  bindConcurrency: number;
  seed: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  log: (message: string) => void;
}

/** The FailedScheduling text upstream's default profile writes: the FitError plus DefaultPreemption's part. */
export function failedSchedulingMessage(err: FitError): string {
  if (err.numAllNodes > 0 && err.pod.spec?.preemptionPolicy === "Never")
    return `${err.message} preemption: not eligible due to preemptionPolicy=Never.`;
  return err.withPreemption();
}

function truncateMessage(message: string): string {
  if (message.length <= NOTE_LENGTH_LIMIT) return message;
  return `${message.slice(0, NOTE_LENGTH_LIMIT - 4)} ...`;
}

function isAssigned(pod: KubeObject): boolean {
  return typeof pod.spec?.nodeName === "string" && pod.spec.nodeName !== "";
}

/** What a pod update must change for an unschedulable pod to be worth another try (not status). */
function schedulingRelevant(pod: KubeObject): string {
  const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...meta } = pod.metadata ?? {};
  return JSON.stringify([meta, pod.spec]);
}

/** Node fields a filter or score reads; a heartbeat-only status update changes none of them. */
function nodeSchedulingFields(node: KubeObject): string {
  return JSON.stringify([
    node.metadata?.labels,
    node.spec?.taints,
    node.spec?.unschedulable,
    node.status?.allocatable,
  ]);
}

export class SchedulerRunner {
  readonly snapshot = new Snapshot({ nodes: [], pods: [] });
  readonly queue: SchedulingQueue;
  private readonly informers: SharedInformerFactory;
  private readonly pods: SharedIndexInformer;
  private readonly nodes: SharedIndexInformer;
  private readonly rng: Rng;
  private readonly cursor = { nextStartNodeIndex: 0 };
  private readonly abort = new AbortController();
  private bindsInFlight = 0;
  private readonly binds = new Set<Promise<void>>();
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: RunnerOptions) {
    this.rng = new Rng(opts.seed);
    this.queue = new SchedulingQueue({
      clock: { now: () => Date.now() },
      initialBackoffMs: opts.initialBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
    });
    this.informers = new SharedInformerFactory(opts.client, { log: opts.log });
    this.pods = this.informers.forResource(PODS, {
      fieldSelector: "status.phase!=Succeeded,status.phase!=Failed",
    });
    this.nodes = this.informers.forResource(NODES);
    this.nodes.addEventHandler({
      onAdd: (node) => {
        this.snapshot.setNode(node);
        this.move("NodeAdd");
      },
      onUpdate: (old, node) => {
        this.snapshot.setNode(node);
        if (nodeSchedulingFields(old) !== nodeSchedulingFields(node)) this.move("NodeUpdate");
      },
      onDelete: (obj) => this.snapshot.removeNode(deletedObject(obj).metadata?.name ?? ""),
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.podAdded(pod),
      onUpdate: (old, pod) => this.podUpdated(old, pod),
      onDelete: (obj) => this.podDeleted(deletedObject(obj)),
    });
    this.abort.signal.addEventListener("abort", () => this.wake(), { once: true });
  }

  private responsibleFor(pod: KubeObject): boolean {
    const name = pod.spec?.schedulerName;
    return (name === undefined || name === "" ? DEFAULT_SCHEDULER_NAME : name) === this.opts.schedulerName;
  }

  private wantsScheduling(pod: KubeObject): boolean {
    return !isAssigned(pod) && !pod.metadata?.deletionTimestamp && this.responsibleFor(pod);
  }

  private move(event: ClusterEvent): void {
    if (this.queue.moveAllToActive(event) > 0) this.wake();
  }

  private podAdded(pod: KubeObject): void {
    if (isAssigned(pod)) {
      this.snapshot.assume(pod, pod.spec.nodeName);
      this.move("AssignedPodAdd");
    } else if (this.wantsScheduling(pod)) {
      this.queue.add(pod);
      this.wake();
    }
  }

  private podUpdated(old: KubeObject, pod: KubeObject): void {
    if (isAssigned(pod)) {
      if (!isAssigned(old)) this.queue.delete(pod);
      this.snapshot.assume(pod, pod.spec.nodeName);
      this.move(isAssigned(old) ? "AssignedPodUpdate" : "AssignedPodAdd");
    } else if (!this.wantsScheduling(pod)) {
      this.queue.delete(pod);
    } else if (schedulingRelevant(old) !== schedulingRelevant(pod)) {
      this.queue.update(pod);
      this.wake();
    }
  }

  private podDeleted(pod: KubeObject): void {
    this.queue.delete(pod);
    // Also drops an assumption for a pod deleted before its binding showed up.
    this.snapshot.removePod(pod);
    if (isAssigned(pod)) this.move("AssignedPodDelete");
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  /** Sleeps until something may be schedulable: an event, a freed bind slot, or a back-off ending. */
  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const next = this.queue.nextBackoffExpiry();
      const ms = next === undefined ? 1_000 : Math.min(1_000, Math.max(1, next - Date.now()));
      const timer = setTimeout(() => this.wake(), ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async start(): Promise<void> {
    this.informers.start();
    if (!(await this.informers.waitForCacheSync(this.abort.signal))) return;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let sliceStart = performance.now();
    while (!this.abort.signal.aborted) {
      const info = this.bindsInFlight < this.opts.bindConcurrency ? this.queue.pop() : undefined;
      if (info === undefined) {
        await this.idle();
        sliceStart = performance.now();
        continue;
      }
      this.scheduleOne(info);
      // Let informer events and bind answers in between decisions.
      if (performance.now() - sliceStart > 5) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
  }

  private scheduleOne(info: QueuedPod): void {
    const started = performance.now();
    const { namespace, name } = info.pod.metadata ?? {};
    const pod = this.pods.lister.get(namespace ?? "", name ?? "");
    if (pod === undefined || !this.wantsScheduling(pod)) {
      this.queue.done(info.key);
      return;
    }
    info.pod = pod;
    let result: ReturnType<typeof schedulePod>;
    try {
      result = schedulePod(pod, this.snapshot, { rng: this.rng, cursor: this.cursor });
    } catch (err) {
      this.opts.log(`scheduling ${info.key} failed: ${(err as Error).message}`);
      this.opts.metrics.attempt("error", (performance.now() - started) / 1000);
      this.queue.addUnschedulable(info);
      this.recordFailure(pod, "SchedulerError", (err as Error).message);
      return;
    }
    if ("error" in result) {
      this.opts.metrics.attempt("unschedulable", (performance.now() - started) / 1000);
      this.queue.addUnschedulable(info, result.error.unschedulablePlugins);
      this.recordFailure(pod, "Unschedulable", failedSchedulingMessage(result.error));
      return;
    }
    const assumed: KubeObject = { ...pod, spec: { ...pod.spec, nodeName: result.node } };
    this.snapshot.assume(assumed, result.node);
    this.bindsInFlight++;
    const bind = this.bind(info, pod, result.node, started).finally(() => {
      this.bindsInFlight--;
      this.binds.delete(bind);
      this.wake();
    });
    this.binds.add(bind);
  }

  private async bind(info: QueuedPod, pod: KubeObject, node: string, started: number): Promise<void> {
    const { namespace, name, uid } = pod.metadata ?? {};
    try {
      await this.opts.client
        .resource(PODS, namespace)
        .subresource(name ?? "", "binding")
        .create({
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name, namespace, uid },
          target: { apiVersion: "v1", kind: "Node", name: node },
        });
    } catch (err) {
      const current = this.pods.lister.get(namespace ?? "", name ?? "");
      // Only forget our assumption: the informer may already hold the pod bound (by anyone).
      if (current === undefined || !isAssigned(current)) this.snapshot.removePod(pod);
      this.opts.metrics.attempt("error", (performance.now() - started) / 1000);
      this.queue.addUnschedulable(info);
      this.wake();
      if (this.abort.signal.aborted) return;
      this.opts.log(`binding ${podKey(pod)} to ${node} failed: ${(err as Error).message}`);
      if (!(isStatusError(err) && err.code === 404) && current !== undefined && !isAssigned(current))
        this.recordFailure(current, "SchedulerError", `binding rejected: ${(err as Error).message}`);
      return;
    }
    this.queue.done(info.key);
    this.opts.metrics.attempt("scheduled", (performance.now() - started) / 1000);
    this.opts.recorder.event(
      pod,
      "Normal",
      "Scheduled",
      `Successfully assigned ${namespace}/${name} to ${node}`,
    );
  }

  /** Upstream's handleSchedulingFailure: a Warning event, and the PodScheduled=False condition when it changed. */
  private recordFailure(pod: KubeObject, reason: string, message: string): void {
    this.opts.recorder.event(pod, "Warning", "FailedScheduling", truncateMessage(message));
    const conditions: KubeObject[] = Array.isArray(pod.status?.conditions) ? pod.status.conditions : [];
    const existing = conditions.find((c) => c?.type === "PodScheduled");
    if (existing?.status === "False" && existing.reason === reason && existing.message === message) return;
    const transition =
      existing?.status === "False" && existing.lastTransitionTime
        ? existing.lastTransitionTime
        : new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const { namespace, name } = pod.metadata ?? {};
    this.opts.client
      .resource(PODS, namespace)
      .patch(
        name ?? "",
        "strategic",
        {
          status: {
            conditions: [
              {
                type: "PodScheduled",
                status: "False",
                reason,
                message,
                lastProbeTime: null,
                lastTransitionTime: transition,
              },
            ],
          },
        },
        { subresource: "status" },
      )
      .catch((err: unknown) => {
        if (!this.abort.signal.aborted)
          this.opts.log(`updating PodScheduled of ${podKey(pod)}: ${(err as Error).message}`);
      });
  }

  /** Stops deciding, waits for binds in flight, and stops the informers. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.binds]);
    await this.informers.shutdown();
  }
}
