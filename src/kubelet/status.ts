// The pod status a kubelet reports, computed from what the runtime says about the pod's containers
// and what the kubelet knows on top (waiting reasons such as CrashLoopBackOff or
// CreateContainerConfigError, probe results): phase as upstream's getPhase, the five conditions
// with their reasons and messages, container statuses with state, lastState and restartCount.
import type { KubeObject } from "../api/index.js";
import type { ContainerStatus } from "../runtime/index.js";

/** Everything the kubelet knows about one container of the pod. */
export interface ContainerView {
  name: string;
  image: string;
  /** The runtime's status of the newest attempt. */
  current?: ContainerStatus;
  /** The attempt before it (lastState when the newest is running). */
  previous?: ContainerStatus;
  restartCount: number;
  /** A kubelet-level waiting reason (back-off, config error) shown unless the container runs. */
  waiting?: { reason: string; message?: string };
  ready: boolean;
  started: boolean;
}

export interface PodStatusInput {
  pod: KubeObject;
  hostIP: string;
  podIP?: string;
  startTime?: string;
  sandboxReady: boolean;
  init: ContainerView[];
  containers: ContainerView[];
  /** The kubelet ended the pod itself (eviction): phase Failed with this reason and message. */
  terminal?: { phase: "Failed" | "Succeeded"; reason?: string; message?: string };
  qosClass: string;
  /** Prefix of containerID and imageID, e.g. "process". */
  runtimeName: string;
  now: number;
}

/** metav1.Time: seconds precision. */
export function rfc3339(ms: number | Date): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function terminatedState(s: ContainerStatus, runtimeName: string): KubeObject {
  const t: KubeObject = {
    exitCode: s.exitCode ?? 0,
    reason: s.reason ?? ((s.exitCode ?? 0) === 0 ? "Completed" : "Error"),
    startedAt: s.startedAt ? rfc3339(s.startedAt) : null,
    finishedAt: s.finishedAt ? rfc3339(s.finishedAt) : null,
    containerID: `${runtimeName}://${s.id}`,
  };
  if (s.message) t.message = s.message;
  return t;
}

export function containerStatusJson(
  v: ContainerView,
  runtimeName: string,
  defaultWaiting: string,
): KubeObject {
  const cur = v.current;
  let state: KubeObject;
  let lastState: KubeObject = {};
  if (cur?.state === "running" && v.waiting === undefined) {
    state = { running: { startedAt: rfc3339(cur.startedAt ?? cur.createdAt) } };
    if (v.previous?.state === "exited") lastState = { terminated: terminatedState(v.previous, runtimeName) };
  } else if (v.waiting !== undefined) {
    state = {
      waiting: { reason: v.waiting.reason, ...(v.waiting.message ? { message: v.waiting.message } : {}) },
    };
    const last = cur?.state === "exited" ? cur : v.previous?.state === "exited" ? v.previous : undefined;
    if (last) lastState = { terminated: terminatedState(last, runtimeName) };
  } else if (cur?.state === "exited") {
    state = { terminated: terminatedState(cur, runtimeName) };
    if (v.previous?.state === "exited") lastState = { terminated: terminatedState(v.previous, runtimeName) };
  } else {
    state = { waiting: { reason: defaultWaiting } };
    if (v.previous?.state === "exited") lastState = { terminated: terminatedState(v.previous, runtimeName) };
  }
  const out: KubeObject = {
    name: v.name,
    state,
    lastState,
    ready: v.ready,
    restartCount: v.restartCount,
    image: v.image,
    imageID: `${runtimeName}://${v.image}`,
    started: v.started,
  };
  if (cur) out.containerID = `${runtimeName}://${cur.id}`;
  return out;
}

function specContainers(pod: KubeObject, key: "containers" | "initContainers"): KubeObject[] {
  return Array.isArray(pod.spec?.[key]) ? pod.spec[key] : [];
}

/** Upstream's getPhase over the container statuses (restartable init containers aside). */
export function getPhase(
  pod: KubeObject,
  init: KubeObject[],
  containers: KubeObject[],
  podIsTerminal = false,
): string {
  const policy = pod.spec?.restartPolicy ?? "Always";
  let pendingInit = 0;
  let failedInit = 0;
  for (const c of specContainers(pod, "initContainers")) {
    if (c.restartPolicy === "Always") continue;
    const s = init.find((x) => x.name === c.name);
    if (!s) pendingInit++;
    else if (s.state?.running) pendingInit++;
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInit++;
      } else pendingInit++;
    } else pendingInit++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of specContainers(pod, "containers")) {
    const s = containers.find((x) => x.name === c.name);
    if (!s) unknown++;
    else if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (failedInit > 0 && policy === "Never") return "Failed";
  if (pendingInit > 0 && !podIsTerminal) return "Pending";
  if (waiting > 0) return "Pending";
  if (running > 0 && unknown === 0) return "Running";
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? "Succeeded" : "Failed";
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (policy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

function condition(
  old: KubeObject[],
  type: string,
  ok: boolean,
  now: number,
  reason?: string,
  message?: string,
): KubeObject {
  const status = ok ? "True" : "False";
  const prev = old.find((c) => c?.type === type);
  const c: KubeObject = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime:
      prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now),
  };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/** The whole status the kubelet writes for the pod. */
export function computePodStatus(input: PodStatusInput): KubeObject {
  const { pod, runtimeName } = input;
  const hasInit = input.init.length > 0;
  const sidecars = new Set(
    specContainers(pod, "initContainers")
      .filter((c) => c?.restartPolicy === "Always")
      .map((c) => c.name),
  );
  // An init container is done when it exited 0; a sidecar once it has started.
  const initComplete = (v: ContainerView) =>
    sidecars.has(v.name) ? v.started : v.current?.state === "exited" && v.current.exitCode === 0;
  const initDone = input.init.every(initComplete);
  const init = input.init.map((v) => containerStatusJson(v, runtimeName, "PodInitializing"));
  const containers = input.containers.map((v) =>
    containerStatusJson(v, runtimeName, hasInit && !initDone ? "PodInitializing" : "ContainerCreating"),
  );
  const oldPhase = pod.status?.phase;
  let phase = input.terminal?.phase ?? getPhase(pod, init, containers);
  if ((oldPhase === "Failed" || oldPhase === "Succeeded") && phase !== oldPhase && !input.terminal)
    phase = oldPhase;
  const old: KubeObject[] = Array.isArray(pod.status?.conditions) ? pod.status.conditions : [];
  const now = input.now;
  const incompleteInit = input.init.filter((v) => !initComplete(v)).map((v) => v.name);
  const unready = containers.filter((c) => !c.ready).map((c) => c.name as string);
  const completed = phase === "Succeeded";
  const notReadyReason = completed ? "PodCompleted" : unready.length > 0 ? "ContainersNotReady" : undefined;
  const notReadyMessage =
    unready.length > 0 && !completed ? `containers with unready status: [${unready.join(" ")}]` : undefined;
  const gates: string[] = (Array.isArray(pod.spec?.readinessGates) ? pod.spec.readinessGates : [])
    .map((g: KubeObject) => g?.conditionType)
    .filter((t: unknown): t is string => typeof t === "string")
    .filter((t: string) => old.find((c) => c?.type === t)?.status !== "True");
  const containersReady = unready.length === 0 && !completed && containers.length > 0;
  const ready = containersReady && gates.length === 0;
  let readyReason = notReadyReason;
  let readyMessage = notReadyMessage;
  if (containersReady && gates.length > 0) {
    readyReason = "ReadinessGatesNotReady";
    readyMessage = `corresponding condition of pod readiness gate "${gates[0]}" does not exist.`;
  }
  const conditions: KubeObject[] = [
    condition(old, "PodReadyToStartContainers", input.sandboxReady, now),
    condition(
      old,
      "Initialized",
      incompleteInit.length === 0,
      now,
      incompleteInit.length > 0 ? "ContainersNotInitialized" : undefined,
      incompleteInit.length > 0
        ? `containers with incomplete status: [${incompleteInit.join(" ")}]`
        : undefined,
    ),
    condition(old, "Ready", ready, now, ready ? undefined : readyReason, ready ? undefined : readyMessage),
    condition(
      old,
      "ContainersReady",
      containersReady,
      now,
      containersReady ? undefined : notReadyReason,
      containersReady ? undefined : notReadyMessage,
    ),
  ];
  const scheduled = old.find((c) => c?.type === "PodScheduled");
  conditions.push(scheduled ?? condition(old, "PodScheduled", true, now));
  for (const c of old) {
    if (!conditions.some((x) => x.type === c?.type)) conditions.push(c);
  }
  const status: KubeObject = {
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    qosClass: input.qosClass,
    containerStatuses: containers,
  };
  if (init.length > 0) status.initContainerStatuses = init;
  if (input.podIP) {
    status.podIP = input.podIP;
    status.podIPs = [{ ip: input.podIP }];
  }
  const startTime = pod.status?.startTime ?? input.startTime;
  if (startTime) status.startTime = startTime;
  if (input.terminal?.reason) status.reason = input.terminal.reason;
  if (input.terminal?.message) status.message = input.terminal.message;
  return status;
}

/** The status fields the kubelet owns, for "did it change" comparisons. */
export function statusKey(status: KubeObject): string {
  return JSON.stringify(status);
}
