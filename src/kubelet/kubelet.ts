// The kubelet's wiring: its HTTP server, the Node agent, informers on the pods bound to it (field
// selector spec.nodeName), its own Node (for podCIDR) and services (for env), the work queue keyed
// by pod uid so one pod is synced by one worker at a time (podworker), runtime exit
// notifications and probe results feeding that queue, and the eviction manager.
import { mkdir } from "node:fs/promises";
import { Registry } from "prom-client";
import type { KubeObject } from "../api/index.js";
import {
  type Clock,
  deletedObject,
  EventRecorder,
  ItemExponentialFailureRateLimiter,
  RestClient,
  realClock,
  runWorkers,
  SharedInformerFactory,
  WorkQueue,
} from "../client/index.js";
import type { Runtime } from "../runtime/index.js";
import { RestartBackoff } from "./backoff.js";
import { containerRef } from "./containerconfig.js";
import { ContainerSync } from "./containersync.js";
import { EvictionManager, memoryAvailableFromProcMeminfo } from "./eviction.js";
import type { KubeletOptions } from "./index.js";
import { KubeletMetrics } from "./metrics.js";
import { NodeAgent } from "./node.js";
import { DEFAULT_EVICTION_HARD_MEMORY_BYTES } from "./nodestatus.js";
import { PodWorker } from "./podworker.js";
import { type ProbeKind, ProberManager } from "./prober.js";
import { type KubeletServer, startKubeletServer } from "./server.js";
import { PodSources } from "./sources.js";

const PODS = { group: "", version: "v1", resource: "pods" } as const;
const NODES = { group: "", version: "v1", resource: "nodes" } as const;
const SERVICES = { group: "", version: "v1", resource: "services" } as const;
/** Upstream runs one goroutine per pod; the syncs are I/O-bound, so up to maxPods of them run at once. */
const POD_WORKERS = 110;
/** How long stop() lets in-flight pod syncs finish. */
const STOP_WAIT_MS = 5_000;
/**
 * The event client's rate (upstream's eventRecordQPS/eventBurst are 50/100). Three events per
 * container start compete with status writes for the store; at 50/100, 100 pods starting on one
 * node reached Running in 4.7 s, at 10/20 in 2.1 s (events then trail by seconds).
 */
const EVENT_QPS = 10;
const EVENT_BURST = 20;

/** Waits for the promise, but no longer than ms. */
async function within(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

export class KubeletImpl {
  port = 0;
  readonly registry: Registry;
  readonly clock: Clock;
  readonly runtime: Runtime;
  /** The informer's pods by uid. */
  readonly pods = new Map<string, KubeObject>();
  private readonly log: (m: string) => void;
  private readonly informers: SharedInformerFactory;
  private readonly queue: WorkQueue<string>;
  private readonly recorder: EventRecorder;
  private readonly eventClient: RestClient;
  /** Node status and Lease go through their own connections (upstream's heartbeat client), so a
   *  burst of pod status writes never holds up the heartbeat that keeps the node Ready. */
  private readonly heartbeatClient: RestClient;
  private readonly backoff: RestartBackoff;
  private readonly metrics: KubeletMetrics;
  readonly prober: ProberManager;
  private node!: NodeAgent;
  readonly worker: PodWorker;
  private eviction: EvictionManager | undefined;
  private server: KubeletServer | undefined;
  private workers: Promise<void> | undefined;
  private unsubscribeExit: (() => void) | undefined;
  private podCIDR: string | undefined;
  private memoryCapacityBytes = 0;
  private stopped = false;

  constructor(readonly opts: KubeletOptions) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? (() => {});
    this.runtime = opts.runtime;
    this.registry = opts.registry ?? new Registry();
    // Informers keep real time: their reconnect back-off is not part of what tests drive.
    this.informers = new SharedInformerFactory(opts.client, { log: this.log });
    this.queue = new WorkQueue<string>({
      name: "kubelet-pods",
      clock: this.clock,
      rateLimiter: new ItemExponentialFailureRateLimiter<string>(500, 60_000),
    });
    // Events get their own client and a lower rate, so a burst of pod starts does not queue
    // status writes behind their events.
    this.eventClient = new RestClient({ ...opts.client.config, qps: EVENT_QPS, burst: EVENT_BURST });
    this.heartbeatClient = new RestClient(opts.client.config);
    this.recorder = new EventRecorder(this.eventClient, {
      component: "kubelet",
      host: opts.nodeName,
      clock: this.clock,
      log: this.log,
    });
    this.backoff = new RestartBackoff(this.clock);
    this.metrics = new KubeletMetrics(this.registry, opts.nodeName, {
      runningPods: () =>
        [...this.worker.states.values()].filter((s) => s.sandbox !== undefined && !s.sandboxGone).length,
      containerStates: () => {
        const counts: Record<string, number> = { created: 0, running: 0, exited: 0, unknown: 0 };
        for (const c of this.runtime.listContainers()) counts[c.state] = (counts[c.state] ?? 0) + 1;
        return counts;
      },
    });
    this.prober = new ProberManager({
      clock: this.clock,
      registry: this.registry,
      onChange: (uid, container, kind, ok) => this.onProbe(uid, container, kind, ok),
      onProbe: (uid, container, kind, result) => this.onProbeResult(uid, container, kind, result),
    });
    const sources = new PodSources({
      client: opts.client,
      services: this.informers.forResource(SERVICES).lister,
      nodeName: opts.nodeName,
      nodeIP: opts.nodeIP,
      allocatable: () => this.allocatable(),
    });
    const containers = new ContainerSync({
      runtime: this.runtime,
      recorder: this.recorder,
      prober: this.prober,
      backoff: this.backoff,
      clock: this.clock,
      metrics: this.metrics,
      envSources: (podIP) => sources.env(podIP),
      volumeSources: sources.volumes(),
      podCIDR: () => this.podCIDR,
      memoryCapacityBytes: () => this.memoryCapacityBytes,
      noteContainer: (id, uid) => this.worker.owners.set(id, uid),
      log: this.log,
    });
    this.worker = new PodWorker(
      {
        client: opts.client,
        runtime: this.runtime,
        prober: this.prober,
        recorder: this.recorder,
        metrics: this.metrics,
        backoff: this.backoff,
        clock: this.clock,
        nodeIP: opts.nodeIP,
        rootDir: opts.rootDir,
        pods: this.pods,
        enqueue: (uid) => this.queue.add(uid),
        log: this.log,
      },
      containers,
    );
  }

  private allocatable(): { cpu?: string; memory?: string } {
    const m = this.node?.machineInfo;
    return {
      cpu: this.opts.capacity?.cpu ?? m?.cpu,
      memory: this.opts.capacity?.memory ?? `${m?.memoryBytes ?? 0}`,
    };
  }

  async start(): Promise<void> {
    const opts = this.opts;
    await mkdir(opts.rootDir, { recursive: true });
    this.server = await startKubeletServer({
      host: opts.nodeIP,
      port: opts.port ?? 10250,
      registry: this.registry,
      kubelet: this.worker,
      log: this.log,
    });
    this.port = this.server.port;
    this.node = new NodeAgent({
      client: this.heartbeatClient,
      clock: this.clock,
      nodeName: opts.nodeName,
      nodeIP: opts.nodeIP,
      port: this.port,
      runtime: opts.runtime.version(),
      capacity: opts.capacity,
      labels: opts.labels,
      taints: opts.taints,
      rootDir: opts.rootDir,
      evictionHardMemoryBytes: opts.evictionHardMemoryAvailableBytes ?? DEFAULT_EVICTION_HARD_MEMORY_BYTES,
      leaseRenewIntervalMs: opts.leaseRenewIntervalMs,
      nodeStatusUpdateFrequencyMs: opts.nodeStatusUpdateFrequencyMs,
      log: this.log,
    });
    await this.node.register();
    this.memoryCapacityBytes = this.node.machineInfo.memoryBytes;

    const nodes = this.informers.forResource(NODES, { fieldSelector: `metadata.name=${opts.nodeName}` });
    const onNode = (node: KubeObject) => this.onNode(node);
    nodes.addEventHandler({ onAdd: onNode, onUpdate: (_o, n) => onNode(n) });
    this.informers.forResource(SERVICES);
    const pods = this.informers.forResource(PODS, { fieldSelector: `spec.nodeName=${opts.nodeName}` });
    pods.addEventHandler({
      onAdd: (pod) => this.onPod(pod),
      onUpdate: (_old, pod) => this.onPod(pod),
      onDelete: (obj) => {
        const uid = deletedObject(obj).metadata?.uid;
        if (!uid) return;
        this.pods.delete(uid);
        this.queue.add(uid);
      },
    });
    this.unsubscribeExit = this.runtime.onContainerExit((st) => {
      const uid = this.worker.owners.get(st.id);
      if (uid !== undefined) this.queue.add(uid);
    });
    this.informers.start();
    await this.informers.waitForCacheSync();
    await this.worker.adoptSandboxes();
    this.workers = runWorkers(
      this.queue,
      POD_WORKERS,
      (uid) => (this.stopped ? undefined : this.worker.syncPod(uid)),
      (uid, err) => this.log(`pod ${this.describe(uid)}: ${(err as Error).message}`),
    );
    this.node.start();
    this.eviction = new EvictionManager({
      clock: this.clock,
      memoryAvailableBytes: opts.memoryAvailableBytes ?? memoryAvailableFromProcMeminfo,
      thresholdBytes: opts.evictionHardMemoryAvailableBytes ?? DEFAULT_EVICTION_HARD_MEMORY_BYTES,
      podUsage: () => this.worker.podUsage(),
      evict: (pod, message) => this.worker.evict(pod, message),
      registry: this.registry,
      onPressureChange: (p) => this.node.setMemoryPressure(p),
      log: this.log,
    });
    this.eviction.start();
  }

  private describe(uid: string): string {
    const pod = this.pods.get(uid) ?? this.worker.states.get(uid)?.pod;
    return pod ? `${pod.metadata?.namespace}/${pod.metadata?.name}` : uid;
  }

  private onNode(node: KubeObject): void {
    const cidr = node.spec?.podCIDR;
    if (typeof cidr !== "string" || cidr === "" || cidr === this.podCIDR) return;
    this.podCIDR = cidr;
    this.runtime.updatePodCIDR(cidr);
    this.log(`pod CIDR ${cidr}`);
    for (const uid of this.pods.keys()) this.queue.add(uid);
  }

  private onPod(pod: KubeObject): void {
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== this.opts.nodeName) return;
    this.pods.set(uid, pod);
    this.queue.add(uid);
  }

  private onProbe(uid: string, container: string, kind: ProbeKind, ok: boolean): void {
    const state = this.worker.states.get(uid);
    if (state === undefined) return;
    if (!ok && kind !== "readiness") {
      const rec = state.records.get(container);
      if (rec) rec.probeFailed = kind;
    }
    this.queue.add(uid);
  }

  private onProbeResult(
    uid: string,
    container: string,
    kind: ProbeKind,
    result: { ok: boolean; output: string },
  ): void {
    const state = this.worker.states.get(uid);
    if (state === undefined || result.ok) return;
    const label = `${kind[0]?.toUpperCase()}${kind.slice(1)}`;
    const detail = result.output.trim();
    this.recorder.event(
      containerRef(state.pod, container, false),
      "Warning",
      "Unhealthy",
      `${label} probe failed: ${detail}`,
    );
  }

  async stop(opts: { stopPods?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.eviction?.stop();
    this.queue.shutdown();
    // A pod in its termination grace period must not hold the kubelet up: stopAll kills it below.
    await within(this.workers, STOP_WAIT_MS);
    await this.informers.shutdown();
    await this.node?.stop();
    this.prober.stop();
    this.unsubscribeExit?.();
    if (opts.stopPods !== false) {
      await this.worker.stopAll();
    }
    // Events still queued behind the rate limit are dropped after a short wait.
    await within(this.recorder.flush(), STOP_WAIT_MS);
    this.eventClient.close();
    this.heartbeatClient.close();
    await this.server?.close();
  }
}
