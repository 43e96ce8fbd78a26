// The pod statuses a hollow kubelet reports: Running and Ready with a pod IP and running container
// statuses; Succeeded with exit code 0 for pods that are not restartPolicy Always once their run
// time is up; and containers terminated before a graceful deletion is finished.
import type { KubeObject } from "../api/index.js";

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** IPv4 "a.b.c.d/len" → its network address as a number and the number of addresses. */
function parseCIDR(cidr: string): { base: number; size: number } | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 30) return undefined;
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - bits);
  return { base: ip - (ip % size), size };
}

function formatIP(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * The seq-th pod IP of a node: from its podCIDR when it has one (skipping the network and
 * broadcast addresses, wrapping around), else from 10.64.0.0/10 by node index.
 */
export function podIP(podCIDR: string | undefined, nodeIndex: number, seq: number): string {
  const range = podCIDR ? parseCIDR(podCIDR) : undefined;
  if (range) return formatIP(range.base + 1 + (seq % (range.size - 2)));
  const node = nodeIndex & 0xffff;
  return `10.${64 + (node >> 8)}.${node & 255}.${1 + (seq % 254)}`;
}

export function finishesOnItsOwn(pod: KubeObject): boolean {
  const policy = pod.spec?.restartPolicy;
  return policy === "Never" || policy === "OnFailure";
}

function containerID(pod: KubeObject, name: string): string {
  return `hollow://${pod.metadata?.uid ?? ""}/${name}`;
}

function containers(pod: KubeObject, key: "containers" | "initContainers"): KubeObject[] {
  return Array.isArray(pod.spec?.[key]) ? pod.spec[key] : [];
}

function condition(type: string, status: string, at: string, reason?: string): KubeObject {
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: at,
    ...(reason ? { reason } : {}),
  };
}

function initStatuses(pod: KubeObject, startedAt: string): KubeObject[] {
  return containers(pod, "initContainers").map((c) => ({
    name: c.name,
    image: c.image,
    imageID: "",
    containerID: containerID(pod, c.name),
    ready: true,
    restartCount: 0,
    started: false,
    state: { terminated: { exitCode: 0, reason: "Completed", startedAt, finishedAt: startedAt } },
  }));
}

/** status for a pod that has just started on a node. */
export function runningStatus(pod: KubeObject, hostIP: string, ip: string, now: number): KubeObject {
  const at = rfc3339(now);
  return {
    phase: "Running",
    conditions: [
      condition("PodReadyToStartContainers", "True", at),
      condition("Initialized", "True", at),
      condition("Ready", "True", at),
      condition("ContainersReady", "True", at),
      condition("PodScheduled", "True", at),
    ],
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: at,
    initContainerStatuses: initStatuses(pod, at),
    containerStatuses: containers(pod, "containers").map((c) => ({
      name: c.name,
      image: c.image,
      imageID: "",
      containerID: containerID(pod, c.name),
      ready: true,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: at } },
      lastState: {},
    })),
  };
}

/** The containers' terminated states, exit code 0, from the running statuses. */
function terminatedStatuses(pod: KubeObject, now: number, reason: string): KubeObject[] {
  const at = rfc3339(now);
  const current: KubeObject[] = Array.isArray(pod.status?.containerStatuses)
    ? pod.status.containerStatuses
    : [];
  return containers(pod, "containers").map((c) => {
    const prev = current.find((s) => s?.name === c.name);
    const startedAt = prev?.state?.running?.startedAt ?? prev?.state?.terminated?.startedAt ?? at;
    return {
      name: c.name,
      image: c.image,
      imageID: "",
      containerID: containerID(pod, c.name),
      ready: false,
      restartCount: 0,
      started: false,
      state: {
        terminated: { exitCode: 0, reason, startedAt, finishedAt: at, containerID: containerID(pod, c.name) },
      },
      lastState: {},
    };
  });
}

/** status for a pod whose containers all exited 0. */
export function succeededStatus(pod: KubeObject, now: number): KubeObject {
  const at = rfc3339(now);
  return {
    phase: "Succeeded",
    conditions: [
      condition("PodReadyToStartContainers", "False", at),
      condition("Ready", "False", at, "PodCompleted"),
      condition("ContainersReady", "False", at, "PodCompleted"),
    ],
    containerStatuses: terminatedStatuses(pod, now, "Completed"),
  };
}

/** status for a pod being deleted: containers stopped, no longer ready. */
export function terminatedStatus(pod: KubeObject, now: number): KubeObject {
  const at = rfc3339(now);
  return {
    conditions: [
      condition("Ready", "False", at, "ContainersNotReady"),
      condition("ContainersReady", "False", at, "ContainersNotReady"),
    ],
    containerStatuses: terminatedStatuses(pod, now, "Completed"),
  };
}

/** When the pod started (status.startTime), in ms, or undefined. */
export function startTimeOf(pod: KubeObject): number | undefined {
  const t = Date.parse(pod.status?.startTime ?? "");
  return Number.isNaN(t) ? undefined : t;
}

export function allContainersTerminated(pod: KubeObject): boolean {
  const statuses: KubeObject[] = Array.isArray(pod.status?.containerStatuses)
    ? pod.status.containerStatuses
    : [];
  return statuses.length > 0 && statuses.every((s) => s?.state?.terminated !== undefined);
}
