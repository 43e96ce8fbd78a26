// The pod worker: what one sync of one pod does, by the pod's state. A pod gone from the API is
// stopped and removed; a pod being deleted is stopped gracefully, its status written, everything
// removed and the pod deleted with grace period 0 (as upstream's status manager finalizes); an
// evicted pod has its containers killed and phase Failed; a finished pod is left alone; any other
// pod is driven by ContainerSync. Every sync ends with the status written when it changed.
import { isStatusError, type KubeObject } from "../api/index.js";
import type { Clock, EventRecorder, ReconcileResult, RestClient } from "../client/index.js";
import type { Runtime } from "../runtime/index.js";
import type { RestartBackoff } from "./backoff.js";
import { podDir, podLogDir } from "./containerconfig.js";
import type { ContainerSync } from "./containersync.js";
import type { PodUsage } from "./eviction.js";
import type { KubeletMetrics } from "./metrics.js";
import { type PodState, record, snapshotContainers, specContainers } from "./podstate.js";
import { type PodStatusView, podStatus } from "./podstatus.js";
import type { ProberManager } from "./prober.js";
import { removePodResources, stopPodContainers } from "./termination.js";
import { cleanupVolumes } from "./volumes.js";

const PODS = { group: "", version: "v1", resource: "pods" } as const;

export function isTerminalPhase(phase: unknown): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

function describe(pod: KubeObject): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

export interface PodWorkerDeps {
  client: RestClient;
  runtime: Runtime;
  prober: ProberManager;
  recorder: EventRecorder;
  metrics: KubeletMetrics;
  backoff: RestartBackoff;
  clock: Clock;
  nodeIP: string;
  rootDir: string;
  /** The informer's pods by uid. */
  pods: Map<string, KubeObject>;
  enqueue(uid: string): void;
  log(m: string): void;
}

export class PodWorker {
  /** What this kubelet runs, by pod uid. */
  readonly states = new Map<string, PodState>();
  /** Runtime container id → pod uid, to route exit notifications. */
  readonly owners = new Map<string, string>();

  constructor(
    private readonly d: PodWorkerDeps,
    private readonly containers: ContainerSync,
  ) {}

  /** Sandboxes the runtime kept from before a restart: adopt those of our pods, remove the rest. */
  async adoptSandboxes(): Promise<void> {
    for (const sb of await this.d.runtime.listSandboxes()) {
      const pod = this.d.pods.get(sb.config.uid);
      if (pod === undefined || isTerminalPhase(pod.status?.phase)) {
        await this.d.runtime.stopSandbox(sb.id).catch(() => {});
        await this.d.runtime.removeSandbox(sb.id).catch(() => {});
        continue;
      }
      const state = this.newState(pod);
      state.sandbox = { id: sb.id, ip: sb.ip, createdAt: sb.createdAt };
      state.startTime = pod.status?.startTime;
      this.states.set(sb.config.uid, state);
      await this.adoptContainers(state, sb.id);
    }
  }

  /** The runtime's containers of an adopted sandbox: the newest attempt per name is current, so
   *  finished init containers are not run again and restart counts go on. */
  private async adoptContainers(state: PodState, sandboxId: string): Promise<void> {
    const init = new Set(specContainers(state.pod, "initContainers").map((c) => c?.name));
    const regular = new Set(specContainers(state.pod, "containers").map((c) => c?.name));
    const found = this.d.runtime.listContainers(sandboxId).sort((a, b) => a.attempt - b.attempt);
    for (const c of found) {
      if (!init.has(c.name) && !regular.has(c.name)) {
        await this.d.runtime.removeContainer(c.id).catch(() => {});
        continue;
      }
      const rec = record(state, c.name, init.has(c.name));
      if (rec.previousId !== undefined) await this.d.runtime.removeContainer(rec.previousId).catch(() => {});
      rec.previousId = rec.currentId;
      rec.currentId = c.id;
      rec.restartCount = c.attempt;
      this.owners.set(c.id, state.uid);
    }
  }

  private newState(pod: KubeObject): PodState {
    const uid = pod.metadata?.uid as string;
    return {
      uid,
      pod,
      firstSeen: this.d.clock.now(),
      podDir: podDir(this.d.rootDir, uid),
      logDir: podLogDir(this.d.rootDir, pod),
      records: new Map(),
      startReported: false,
    };
  }

  private forget(state: PodState): void {
    this.states.delete(state.uid);
    this.d.backoff.forgetPrefix(`${state.uid}/`);
    for (const rec of state.records.values()) {
      if (rec.currentId) this.owners.delete(rec.currentId);
      if (rec.previousId) this.owners.delete(rec.previousId);
    }
  }

  async syncPod(uid: string): Promise<ReconcileResult> {
    const began = this.d.clock.now();
    const pod = this.d.pods.get(uid);
    let state = this.states.get(uid);
    const operation = state === undefined ? "create" : "sync";
    try {
      if (pod === undefined) {
        if (state !== undefined) {
          const g = state.pod.metadata?.deletionGracePeriodSeconds;
          await stopPodContainers(this.d, state, typeof g === "number" ? g : undefined);
          await removePodResources(this.d, state, cleanupVolumes);
          this.forget(state);
        }
        return undefined;
      }
      if (state === undefined) {
        if (isTerminalPhase(pod.status?.phase) && !pod.metadata?.deletionTimestamp) return undefined;
        state = this.newState(pod);
        this.states.set(uid, state);
      }
      state.pod = pod;
      if (pod.metadata?.deletionTimestamp) {
        await this.terminate(state);
        return undefined;
      }
      if (state.terminal !== undefined) {
        for (const rec of state.records.values()) rec.waiting = undefined;
        await stopPodContainers(this.d, state, 0);
        await this.release(state);
        await this.writeStatus(state);
        return undefined;
      }
      if (isTerminalPhase(state.lastStatus?.phase ?? pod.status?.phase)) {
        await this.writeStatus(state);
        await this.release(state);
        return undefined;
      }
      const next = await this.containers.sync(state);
      const status = await this.writeStatus(state);
      if (isTerminalPhase(status?.phase)) {
        await this.release(state);
        await this.writeStatus(state);
        return undefined;
      }
      return next === undefined ? undefined : { requeueAfterMs: next };
    } finally {
      this.d.metrics.podWorkerDuration.observe({ operation }, (this.d.clock.now() - began) / 1000);
    }
  }

  /**
   * A finished pod gives its sandbox (and so its IP) back, as upstream kills a terminal pod's
   * sandbox; its containers' last statuses stay in the state and their logs on disk until the
   * pod is deleted.
   */
  private async release(state: PodState): Promise<void> {
    this.d.prober.removePod(state.uid);
    if (state.sandbox === undefined || state.sandboxGone) return;
    snapshotContainers(this.d.runtime, state);
    state.sandboxGone = true;
    await this.d.runtime.stopSandbox(state.sandbox.id);
    await this.d.runtime.removeSandbox(state.sandbox.id);
  }

  private async terminate(state: PodState): Promise<void> {
    const pod = state.pod;
    const g = pod.metadata?.deletionGracePeriodSeconds;
    await stopPodContainers(this.d, state, typeof g === "number" ? g : undefined);
    state.sandboxGone = true;
    await this.writeStatus(state).catch((err: unknown) =>
      this.d.log(`status of ${describe(state.pod)}: ${(err as Error).message}`),
    );
    await removePodResources(this.d, state, cleanupVolumes);
    this.forget(state);
    try {
      await this.d.client
        .resource(PODS, pod.metadata?.namespace)
        .delete(pod.metadata?.name as string, { gracePeriodSeconds: 0, preconditions: { uid: state.uid } });
    } catch (err) {
      if (!(isStatusError(err) && (err.code === 404 || err.code === 409))) throw err;
    }
  }

  /** The status views of the pod's containers, for status and for the log endpoint. */
  statusView(state: PodState): PodStatusView {
    return podStatus(this.d.runtime, this.d.prober, state);
  }

  /** Computes the status and writes it through pods/status when it changed. */
  private async writeStatus(state: PodState): Promise<KubeObject | undefined> {
    const status = this.statusView(state).compute({
      hostIP: this.d.nodeIP,
      runtimeName: this.d.runtime.version().name,
      now: this.d.clock.now(),
    });
    const key = JSON.stringify(status);
    if (key === state.lastStatusKey) return status;
    const pod = state.pod;
    try {
      // The uid makes the patch fail (409) instead of landing on a new pod of the same name.
      await this.d.client
        .resource(PODS, pod.metadata?.namespace)
        .patch(
          pod.metadata?.name as string,
          "merge",
          { metadata: { uid: state.uid }, status },
          { subresource: "status" },
        );
    } catch (err) {
      if (isStatusError(err) && (err.code === 404 || err.code === 409)) return status;
      throw err;
    }
    state.lastStatus = status;
    state.lastStatusKey = key;
    if (!state.startReported && status.phase === "Running") {
      const statuses: KubeObject[] = status.containerStatuses ?? [];
      if (statuses.length > 0 && statuses.every((s) => s.state?.running)) {
        state.startReported = true;
        this.d.metrics.podStartDuration.observe((this.d.clock.now() - state.firstSeen) / 1000);
      }
    }
    return status;
  }

  async podUsage(): Promise<PodUsage[]> {
    const out: PodUsage[] = [];
    for (const state of this.states.values()) {
      if (state.terminal || isTerminalPhase(state.lastStatus?.phase)) continue;
      let memoryBytes = 0;
      for (const rec of state.records.values()) {
        if (rec.currentId === undefined) continue;
        const stats = await this.d.runtime.stats(rec.currentId).catch(() => undefined);
        memoryBytes += stats?.memoryBytes ?? 0;
      }
      out.push({ pod: state.pod, memoryBytes });
    }
    return out;
  }

  /** The eviction manager's verdict: the pod fails with reason Evicted; its containers are killed. */
  async evict(pod: KubeObject, message: string): Promise<void> {
    const uid = pod.metadata?.uid;
    const state = uid ? this.states.get(uid) : undefined;
    if (state === undefined || state.terminal) return;
    state.terminal = { phase: "Failed", reason: "Evicted", message };
    this.d.recorder.event(pod, "Warning", "Evicted", message);
    this.d.enqueue(state.uid);
  }

  /** Pods this kubelet runs, as the API has them with the status it computed. */
  runningPods(): KubeObject[] {
    return [...this.states.values()].map((s) => ({
      apiVersion: "v1",
      kind: "Pod",
      ...s.pod,
      status: s.lastStatus ?? s.pod.status,
    }));
  }

  findPod(namespace: string, name: string): PodState | undefined {
    for (const s of this.states.values())
      if (s.pod.metadata?.namespace === namespace && s.pod.metadata?.name === name) return s;
    return undefined;
  }

  containerRunning(id: string): boolean {
    return this.d.runtime.containerStatus(id)?.state === "running";
  }

  specHas(state: PodState, container: string): boolean {
    return [...specContainers(state.pod, "initContainers"), ...specContainers(state.pod, "containers")].some(
      (c) => c?.name === container,
    );
  }

  /** Kills every container and removes every sandbox (the kubelet is going away). */
  async stopAll(): Promise<void> {
    for (const state of this.states.values()) {
      await removePodResources(this.d, state, async () => {}).catch(() => {});
    }
  }
}
