// A pod's QoS class (pkg/apis/core/helper/qos ComputePodQOS) and the oom_score_adj each container
// gets from it (pkg/kubelet/qos/policy.go), so the OOM killer takes best-effort work first and
// node-critical or guaranteed pods last.

import { parseQuantity, type Quantity } from "../api/quantity.js";
import type { KubeObject } from "../api/types.js";
import { record } from "./fields.js";

export type QOSClass = "Guaranteed" | "Burstable" | "BestEffort";

const QOS_RESOURCES = ["cpu", "memory"] as const;
const GUARANTEED_OOM_SCORE_ADJ = -997;
const BESTEFFORT_OOM_SCORE_ADJ = 1000;
/** scheduling.SystemCriticalPriority: pods at or above it are critical. */
const SYSTEM_CRITICAL_PRIORITY = 2_000_000_000;

type Container = Record<string, unknown>;

function quantity(v: unknown): Quantity | undefined {
  if (typeof v !== "string" && typeof v !== "number") return undefined;
  try {
    return parseQuantity(v);
  } catch {
    return undefined;
  }
}

function containers(pod: KubeObject, key: "containers" | "initContainers"): Container[] {
  const list = record(pod.spec)[key];
  return Array.isArray(list) ? list.map(record) : [];
}

/** A container's requests and limits as quantities; a missing request takes its limit (apiserver defaulting). */
export function containerResources(container: Container): {
  requests: Record<string, Quantity>;
  limits: Record<string, Quantity>;
} {
  const resources = record(container.resources);
  const requests: Record<string, Quantity> = {};
  const limits: Record<string, Quantity> = {};
  for (const [name, v] of Object.entries(record(resources.limits))) {
    const q = quantity(v);
    if (q) limits[name] = q;
  }
  for (const [name, v] of Object.entries(record(resources.requests))) {
    const q = quantity(v);
    if (q) requests[name] = q;
  }
  for (const [name, q] of Object.entries(limits)) if (!(name in requests)) requests[name] = q;
  return { requests, limits };
}

/** The pod's QoS class: status.qosClass when set (GetPodQOS), else computed from cpu and memory. */
export function podQOSClass(pod: KubeObject): QOSClass {
  const recorded = record(pod.status).qosClass;
  if (recorded === "Guaranteed" || recorded === "Burstable" || recorded === "BestEffort") return recorded;
  const requests = new Map<string, Quantity>();
  const limits = new Map<string, Quantity>();
  let guaranteed = true;
  for (const c of [...containers(pod, "containers"), ...containers(pod, "initContainers")]) {
    const res = containerResources(c);
    for (const name of QOS_RESOURCES) {
      const req = res.requests[name];
      if (req && req.sign() > 0) requests.set(name, requests.get(name)?.add(req) ?? req);
    }
    const found = new Set<string>();
    for (const name of QOS_RESOURCES) {
      const lim = res.limits[name];
      if (lim && lim.sign() > 0) {
        found.add(name);
        limits.set(name, limits.get(name)?.add(lim) ?? lim);
      }
    }
    if (!found.has("cpu") || !found.has("memory")) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  if (guaranteed) {
    for (const [name, req] of requests) {
      const lim = limits.get(name);
      if (lim?.cmp(req) !== 0) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? "Guaranteed" : "Burstable";
}

/** kubetypes.IsCriticalPod: static, mirror, or priority at/above system-critical. */
export function isCriticalPod(pod: KubeObject): boolean {
  const annotations = record(pod.metadata?.annotations);
  const source = annotations["kubernetes.io/config.source"];
  if (typeof source === "string" && source !== "api") return true;
  if ("kubernetes.io/config.mirror" in annotations) return true;
  const priority = record(pod.spec).priority;
  return typeof priority === "number" && priority >= SYSTEM_CRITICAL_PRIORITY;
}

/** kubetypes.IsNodeCriticalPod. */
export function isNodeCriticalPod(pod: KubeObject): boolean {
  return isCriticalPod(pod) && record(pod.spec).priorityClassName === "system-node-critical";
}

function memoryRequestBytes(container: Container): bigint {
  return containerResources(container).requests.memory?.value() ?? 0n;
}

/** A restartable init container (restartPolicy Always), i.e. a sidecar. */
function isSidecar(pod: KubeObject, container: Container): boolean {
  if (container.restartPolicy !== "Always") return false;
  return containers(pod, "initContainers").some((c) => c.name === container.name);
}

/** GetContainerOOMScoreAdjust. memoryCapacityBytes is the node's memory capacity. */
export function containerOomScoreAdj(
  pod: KubeObject,
  container: Container,
  memoryCapacityBytes: number,
): number {
  if (isNodeCriticalPod(pod)) return GUARANTEED_OOM_SCORE_ADJ;
  const qos = podQOSClass(pod);
  if (qos === "Guaranteed") return GUARANTEED_OOM_SCORE_ADJ;
  if (qos === "BestEffort") return BESTEFFORT_OOM_SCORE_ADJ;
  const capacity = BigInt(Math.max(1, Math.floor(memoryCapacityBytes)));
  // Go's int64 division truncates toward zero, as bigint division does.
  let adj = 1000n - (1000n * memoryRequestBytes(container)) / capacity;
  if (isSidecar(pod, container)) {
    const regular = containers(pod, "containers");
    if (regular.length > 0) {
      let minRequest = memoryRequestBytes(regular[0]!);
      for (const c of regular.slice(1)) {
        const request = memoryRequestBytes(c);
        if (request < minRequest) minRequest = request;
      }
      const minAdj = 1000n - (1000n * minRequest) / capacity;
      if (adj > minAdj) adj = minAdj;
    }
  }
  // Burstable stays strictly between guaranteed (-997 → 3 after a full-memory request) and best-effort.
  if (adj < BigInt(1000 + GUARANTEED_OOM_SCORE_ADJ)) return 1000 + GUARANTEED_OOM_SCORE_ADJ;
  if (adj === BigInt(BESTEFFORT_OOM_SCORE_ADJ)) return BESTEFFORT_OOM_SCORE_ADJ - 1;
  return Number(adj);
}
