// Pod resource requests as the scheduler counts them: the effective request of a pod is the larger of its
// regular containers' sum (plus sidecars) and its init-container peak, plus pod overhead. Scoring uses
// "non-zero" requests so that pods without requests still count (100m cpu, 200Mi memory each).
import { type KubeObject, parseQuantity } from "../api/index.js";

export const defaultMilliCPURequest = 100;
export const defaultMemoryRequest = 200 * 1024 * 1024;

/** Resource amounts in the scheduler's units: cpu in millicores, the rest in plain units (bytes, count). */
export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended resources (e.g. example.com/gpu, hugepages-2Mi), by name. */
  scalar: Map<string, number>;
}

export function emptyResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: new Map() };
}

function isScalarResourceName(name: string): boolean {
  return name.startsWith("hugepages-") || (name.includes("/") && !name.startsWith("kubernetes.io/"));
}

/** A quantity in plain units (or milli-units); invalid or missing quantities count as 0. */
export function quantityValue(raw: unknown, milli: boolean): number {
  if (typeof raw !== "string" && typeof raw !== "number") return 0;
  try {
    const q = parseQuantity(raw);
    return Number(milli ? q.milliValue() : q.value());
  } catch {
    // The apiserver validates quantities; an invalid one left in a pod must not stop the scheduler.
    return 0;
  }
}

/** Converts a ResourceList (`{cpu: "500m", memory: "1Gi"}`) into scheduler units. */
export function resourcesFromList(list: Record<string, unknown> | undefined | null): Resources {
  const r = emptyResources();
  if (!list || typeof list !== "object") return r;
  for (const [name, raw] of Object.entries(list)) {
    if (name === "cpu") r.milliCPU += quantityValue(raw, true);
    else if (name === "memory") r.memory += quantityValue(raw, false);
    else if (name === "ephemeral-storage") r.ephemeralStorage += quantityValue(raw, false);
    else if (isScalarResourceName(name))
      r.scalar.set(name, (r.scalar.get(name) ?? 0) + quantityValue(raw, false));
  }
  return r;
}

export function addResources(into: Resources, other: Resources, sign = 1): void {
  into.milliCPU += sign * other.milliCPU;
  into.memory += sign * other.memory;
  into.ephemeralStorage += sign * other.ephemeralStorage;
  for (const [k, v] of other.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + sign * v);
}

function cloneResources(r: Resources): Resources {
  return { ...r, scalar: new Map(r.scalar) };
}

function maxInto(into: Resources, other: Resources): void {
  into.milliCPU = Math.max(into.milliCPU, other.milliCPU);
  into.memory = Math.max(into.memory, other.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, other.ephemeralStorage);
  for (const [k, v] of other.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v));
}

// biome-ignore lint/suspicious/noExplicitAny: container specs are open JSON
type Container = any;

function containerRequests(c: Container, nonZero: boolean): Resources {
  const r = resourcesFromList(c?.resources?.requests);
  if (nonZero) {
    const req = c?.resources?.requests ?? {};
    if (req.cpu === undefined) r.milliCPU = defaultMilliCPURequest;
    if (req.memory === undefined) r.memory = defaultMemoryRequest;
  }
  return r;
}

/**
 * The pod's effective request. With `nonZero`, containers that request no cpu/memory count as
 * 100m/200Mi (what scoring uses so best-effort pods are still spread).
 */
export function computePodRequests(pod: KubeObject, nonZero = false): Resources {
  const spec = pod.spec ?? {};
  const reqs = emptyResources();
  for (const c of (spec.containers ?? []) as Container[]) addResources(reqs, containerRequests(c, nonZero));
  const restartableSum = emptyResources();
  const initPeak = emptyResources();
  for (const c of (spec.initContainers ?? []) as Container[]) {
    const own = containerRequests(c, nonZero);
    let during: Resources;
    if (c?.restartPolicy === "Always") {
      // A sidecar keeps running next to the app containers and to every later init container.
      addResources(reqs, own);
      addResources(restartableSum, own);
      during = restartableSum;
    } else {
      during = cloneResources(own);
      addResources(during, restartableSum);
    }
    maxInto(initPeak, during);
  }
  maxInto(reqs, initPeak);
  if (spec.overhead) addResources(reqs, resourcesFromList(spec.overhead));
  return reqs;
}

export interface PodRequests {
  requests: Resources;
  nonZero: Resources;
}

const cache = new WeakMap<object, PodRequests>();

/** Requests and non-zero requests of a pod, memoised per pod object (pods are treated as immutable). */
export function podRequests(pod: KubeObject): PodRequests {
  let r = cache.get(pod);
  if (!r) {
    r = { requests: computePodRequests(pod, false), nonZero: computePodRequests(pod, true) };
    cache.set(pod, r);
  }
  return r;
}
