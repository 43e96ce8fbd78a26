// What the kubelet remembers about one pod it runs: its sandbox, its volumes, and per container the
// newest and previous runtime container, the restart count and the waiting reason it shows.
import type { KubeObject } from "../api/index.js";
import type { ContainerStatus, Runtime, Sandbox } from "../runtime/index.js";

export interface ContainerRecord {
  name: string;
  isInit: boolean;
  /** An init container with restartPolicy Always: it keeps running beside the containers. */
  sidecar?: boolean;
  currentId?: string;
  /** The image the current container was started from (a changed spec image restarts it). */
  image?: string;
  previousId?: string;
  restartCount: number;
  waiting?: { reason: string; message?: string };
  /** Start rejected by the runtime: shown as terminated with this status (the runtime may say "created"). */
  startFailure?: ContainerStatus;
  /** A liveness or startup probe failed: the container is killed and restarted. */
  probeFailed?: "liveness" | "startup";
}

export interface PodState {
  uid: string;
  pod: KubeObject;
  firstSeen: number;
  podDir: string;
  logDir: string;
  sandbox?: Sandbox;
  volumes?: Map<string, string>;
  records: Map<string, ContainerRecord>;
  /** Ended by the kubelet itself (eviction). */
  terminal?: { phase: "Failed" | "Succeeded"; reason?: string; message?: string };
  startReported: boolean;
  /** Init containers completed once: later sidecar trouble no longer holds the containers back. */
  initialized?: boolean;
  /** Set once the sandbox is stopped (pod finished or being deleted): PodReadyToStartContainers turns False. */
  sandboxGone?: boolean;
  /** Last runtime statuses of containers whose sandbox was released, by container id. */
  snapshots?: Map<string, ContainerStatus>;
  /** The last status written, and its JSON. */
  lastStatus?: KubeObject;
  lastStatusKey?: string;
  startTime?: string;
}

export function record(state: PodState, name: string, isInit: boolean): ContainerRecord {
  let rec = state.records.get(name);
  if (rec === undefined) {
    rec = { name, isInit, restartCount: 0 };
    state.records.set(name, rec);
  }
  return rec;
}

/** The runtime's view of the record's newest container, with a rejected start shown as exited. */
export function currentStatus(
  runtime: Runtime,
  rec: ContainerRecord,
  state?: PodState,
): ContainerStatus | undefined {
  if (rec.currentId === undefined) return undefined;
  const st = runtime.containerStatus(rec.currentId) ?? state?.snapshots?.get(rec.currentId);
  if (rec.startFailure && st?.state !== "exited") return rec.startFailure;
  return st;
}

export function previousStatus(
  runtime: Runtime,
  rec: ContainerRecord,
  state?: PodState,
): ContainerStatus | undefined {
  if (rec.previousId === undefined) return undefined;
  return runtime.containerStatus(rec.previousId) ?? state?.snapshots?.get(rec.previousId);
}

/** Keeps the containers' last statuses in the state, before the runtime forgets them. */
export function snapshotContainers(runtime: Runtime, state: PodState): void {
  state.snapshots ??= new Map();
  for (const rec of state.records.values()) {
    for (const id of [rec.currentId, rec.previousId]) {
      const st = id === undefined ? undefined : runtime.containerStatus(id);
      if (st) state.snapshots.set(st.id, st);
    }
  }
}

/** Whether restartPolicy restarts a container that exited with this code. */
export function shouldRestart(pod: KubeObject, exitCode: number): boolean {
  const policy = pod.spec?.restartPolicy ?? "Always";
  return policy === "Always" || (policy === "OnFailure" && exitCode !== 0);
}

export function specContainers(pod: KubeObject, key: "containers" | "initContainers"): KubeObject[] {
  return Array.isArray(pod.spec?.[key]) ? pod.spec[key] : [];
}
