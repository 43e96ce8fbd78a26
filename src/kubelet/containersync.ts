// Running a pod's containers: one call brings a live pod one step closer to its spec. It creates
// the sandbox, prepares volumes, runs init containers in order (each must exit 0), then starts the
// containers and restarts them per restartPolicy with CrashLoopBackOff back-off; liveness and
// startup failures kill and restart. Errors a user must see become waiting reasons
// (CreateContainerConfigError, RunContainerError) with upstream's events. Calls for one pod never
// overlap (the kubelet's work queue is keyed by pod uid).
import type { KubeObject } from "../api/index.js";
import type { Clock, EventRecorder, ObjectReference } from "../client/index.js";
import type { ContainerConfig, Runtime } from "../runtime/index.js";
import { goDuration, type RestartBackoff } from "./backoff.js";
import {
  backoffKey,
  containerArgv,
  containerLogPath,
  containerRef,
  containerResources,
  podDescription,
  probeTarget,
  terminationGrace,
} from "./containerconfig.js";
import { containerEnv, EnvError, type EnvSources } from "./env.js";
import type { KubeletMetrics } from "./metrics.js";
import {
  type ContainerRecord,
  currentStatus,
  type PodState,
  record,
  shouldRestart,
  specContainers,
} from "./podstate.js";
import type { ProberManager } from "./prober.js";
import { containerOomScoreAdj } from "./qos.js";
import { containerMounts, prepareVolumes, VolumeError, type VolumeSources } from "./volumes.js";

export interface ContainerSyncDeps {
  runtime: Runtime;
  recorder: EventRecorder;
  prober: ProberManager;
  backoff: RestartBackoff;
  clock: Clock;
  metrics: KubeletMetrics;
  envSources(podIP: string): EnvSources;
  volumeSources: VolumeSources;
  podCIDR(): string | undefined;
  memoryCapacityBytes(): number;
  /** Remembers which pod a runtime container belongs to (for exit notifications). */
  noteContainer(id: string, uid: string): void;
  log(m: string): void;
}

/** How long to wait for a config that is missing (configmap, secret) before trying again. */
const CONFIG_RETRY_MS = 10_000;
/** A sync of a running pod also happens this often, as upstream's resync. */
const RESYNC_MS = 60_000;

export class ContainerSync {
  constructor(private readonly d: ContainerSyncDeps) {}

  /** One step for a live (not deleted, not finished) pod; returns when to look again. */
  async sync(state: PodState): Promise<number | undefined> {
    const pod = state.pod;
    if (pod.spec?.hostNetwork !== true && this.d.podCIDR() === undefined) return 1_000;
    if (state.sandbox === undefined) {
      try {
        state.sandbox = await this.d.runtime.runSandbox({
          uid: state.uid,
          name: pod.metadata?.name ?? "",
          namespace: pod.metadata?.namespace ?? "",
          hostNetwork: pod.spec?.hostNetwork === true,
          logDirectory: state.logDir,
          labels: { ...(pod.metadata?.labels ?? {}) },
        });
      } catch (err) {
        this.d.recorder.event(
          pod,
          "Warning",
          "FailedCreatePodSandBox",
          `Failed to create pod sandbox: ${(err as Error).message}`,
        );
        throw err;
      }
      state.startTime ??= new Date(this.d.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    }
    if (state.volumes === undefined) {
      try {
        state.volumes = await prepareVolumes(pod, state.podDir, this.d.volumeSources);
      } catch (err) {
        if (!(err instanceof VolumeError || err instanceof EnvError)) throw err;
        this.d.recorder.event(pod, "Warning", "FailedMount", (err as Error).message);
        for (const c of [...specContainers(pod, "initContainers"), ...specContainers(pod, "containers")]) {
          const rec = record(state, c.name, specContainers(pod, "initContainers").includes(c));
          if (rec.currentId === undefined)
            rec.waiting = { reason: "CreateContainerConfigError", message: (err as Error).message };
        }
        return CONFIG_RETRY_MS;
      }
    }
    let next: number | undefined = RESYNC_MS;
    const soonest = (ms: number | undefined) => {
      if (ms !== undefined && (next === undefined || ms < next)) next = ms;
    };
    let initDone = true;
    for (const c of specContainers(pod, "initContainers")) {
      const rec = record(state, c.name, true);
      if (c.restartPolicy === "Always") {
        // A sidecar: started in order like an init container, then kept running like a container.
        rec.sidecar = true;
        soonest(await this.ensureRunning(state, c, rec));
        const st = currentStatus(this.d.runtime, rec);
        if (state.initialized || (st?.state === "running" && this.d.prober.started(state.uid, c.name)))
          continue;
        initDone = false;
        break;
      }
      if (state.initialized) continue;
      const st = currentStatus(this.d.runtime, rec);
      if (st?.state === "exited" && st.exitCode === 0) continue;
      initDone = false;
      if (st === undefined || st.state === "exited") soonest(await this.ensureRunning(state, c, rec));
      break;
    }
    if (initDone) {
      state.initialized = true;
      for (const c of specContainers(pod, "containers")) {
        soonest(await this.ensureRunning(state, c, record(state, c.name, false)));
      }
    }
    return next;
  }

  /** Starts the container when it should run and does not; returns when to look again. */
  private async ensureRunning(
    state: PodState,
    c: KubeObject,
    rec: ContainerRecord,
  ): Promise<number | undefined> {
    const pod = state.pod;
    let st = currentStatus(this.d.runtime, rec);
    const restartable = !rec.isInit || rec.sidecar === true;
    if (st?.state === "running" && rec.probeFailed !== undefined && restartable) {
      const kind = rec.probeFailed;
      rec.probeFailed = undefined;
      this.d.recorder.event(
        containerRef(pod, c.name, false),
        "Normal",
        "Killing",
        `Container ${c.name} failed ${kind} probe, will be restarted`,
      );
      this.d.prober.stopContainer(state.uid, c.name);
      await this.d.runtime.stopContainer(st.id, terminationGrace(pod));
      st = currentStatus(this.d.runtime, rec);
    }
    if (st?.state === "running" && rec.image !== undefined && rec.image !== String(c.image ?? "")) {
      this.d.recorder.event(
        containerRef(pod, c.name, rec.isInit),
        "Normal",
        "Killing",
        `Container ${c.name} definition changed, will be restarted`,
      );
      this.d.prober.stopContainer(state.uid, c.name);
      await this.d.runtime.stopContainer(st.id, terminationGrace(pod));
      return this.start(state, c, rec);
    }
    if (st?.state === "running" || st?.state === "created" || st?.state === "unknown") return undefined;
    if (st?.state === "exited") {
      const exitCode = st.exitCode ?? 0;
      const done = rec.sidecar
        ? false
        : rec.isInit
          ? exitCode === 0 || pod.spec?.restartPolicy === "Never"
          : !shouldRestart(pod, exitCode);
      if (done) {
        rec.waiting = undefined;
        return undefined;
      }
      const key = backoffKey(pod, c.name);
      const finished = (st.finishedAt ?? st.createdAt).getTime();
      if (this.d.backoff.inBackoffSince(key, finished)) {
        // The first start the runtime rejected keeps showing why until it is retried.
        if (rec.waiting?.reason === "RunContainerError" && rec.restartCount === 0)
          return Math.max(1, this.d.backoff.remaining(key, finished));
        const delay = goDuration(this.d.backoff.get(key));
        const message = `back-off ${delay} restarting failed container=${c.name} pod=${podDescription(pod)}`;
        if (rec.waiting?.reason !== "CrashLoopBackOff" || rec.waiting.message !== message)
          this.d.recorder.event(
            containerRef(pod, c.name, rec.isInit),
            "Warning",
            "BackOff",
            `Back-off restarting failed container ${c.name} in pod ${podDescription(pod)}`,
          );
        rec.waiting = { reason: "CrashLoopBackOff", message };
        return Math.max(1, this.d.backoff.remaining(key, finished));
      }
      this.d.backoff.next(key, finished);
    }
    return this.start(state, c, rec);
  }

  private async start(state: PodState, c: KubeObject, rec: ContainerRecord): Promise<number | undefined> {
    const pod = state.pod;
    const sandbox = state.sandbox!;
    const ref = containerRef(pod, c.name, rec.isInit);
    const type = rec.isInit ? "init_container" : "container";
    const attempt = rec.currentId === undefined ? rec.restartCount : rec.restartCount + 1;
    let env: Record<string, string>;
    try {
      env = await containerEnv(pod, c, this.d.envSources(sandbox.ip));
    } catch (err) {
      if (!(err instanceof EnvError)) throw err;
      this.configError(rec, ref, "CreateContainerConfigError", err.message, type);
      return CONFIG_RETRY_MS;
    }
    const config: ContainerConfig = {
      name: c.name,
      image: String(c.image ?? ""),
      argv: containerArgv(c, env),
      env,
      mounts: containerMounts(c, state.volumes ?? new Map()),
      logPath: containerLogPath(state.logDir, c.name, attempt),
      oomScoreAdj: containerOomScoreAdj(pod, c, this.d.memoryCapacityBytes()),
      attempt,
      ...containerResources(c),
    };
    if (typeof c.workingDir === "string" && c.workingDir !== "") config.workingDir = c.workingDir;
    this.d.recorder.event(
      ref,
      "Normal",
      "Pulled",
      `Container image "${config.image}" already present on machine`,
    );
    let id: string;
    try {
      id = await this.d.runtime.createContainer(sandbox.id, config);
    } catch (err) {
      this.configError(rec, ref, "CreateContainerError", (err as Error).message, type);
      return CONFIG_RETRY_MS;
    }
    this.d.noteContainer(id, state.uid);
    if (rec.currentId !== undefined) {
      if (rec.previousId !== undefined) await this.d.runtime.removeContainer(rec.previousId).catch(() => {});
      rec.previousId = rec.currentId;
      rec.restartCount = attempt;
    }
    rec.currentId = id;
    rec.image = config.image;
    rec.startFailure = undefined;
    rec.waiting = undefined;
    rec.probeFailed = undefined;
    this.d.recorder.event(ref, "Normal", "Created", `Created container: ${c.name}`);
    try {
      await this.d.runtime.startContainer(id);
    } catch (err) {
      const e = err as Error & { reason?: string };
      const now = new Date(this.d.clock.now());
      const st = this.d.runtime.containerStatus(id);
      rec.startFailure = {
        id,
        name: c.name,
        attempt,
        state: "exited",
        createdAt: st?.createdAt ?? now,
        startedAt: st?.startedAt,
        finishedAt: st?.finishedAt ?? now,
        exitCode: st?.exitCode ?? 128,
        reason: e.reason ?? "StartError",
        message: e.message,
        logPath: config.logPath,
      };
      this.d.recorder.event(ref, "Warning", "Failed", `Error: ${e.message}`);
      this.d.metrics.startedContainerErrors.inc({ container_type: type, code: "RunContainerError" });
      if (shouldRestart(pod, 128)) {
        rec.waiting = { reason: "RunContainerError", message: e.message };
        this.d.backoff.next(backoffKey(pod, c.name), now.getTime());
        return Math.max(1, this.d.backoff.remaining(backoffKey(pod, c.name), now.getTime()));
      }
      return undefined;
    }
    this.d.recorder.event(ref, "Normal", "Started", `Started container ${c.name}`);
    this.d.metrics.startedContainers.inc({ container_type: type });
    if (!rec.isInit || rec.sidecar)
      this.d.prober.startContainer(pod, c.name, id, probeTarget(this.d.runtime, sandbox.ip, c, id));
    return undefined;
  }

  private configError(
    rec: ContainerRecord,
    ref: ObjectReference,
    reason: string,
    message: string,
    type: string,
  ): void {
    rec.waiting = { reason, message };
    this.d.recorder.event(ref, "Warning", "Failed", `Error: ${message}`);
    this.d.metrics.startedContainerErrors.inc({ container_type: type, code: reason });
  }
}
