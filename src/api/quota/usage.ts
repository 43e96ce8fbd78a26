// What an object counts against a ResourceQuota, as upstream's quota evaluators: a pod that has
// not finished counts as one pod plus its cpu/memory requests and limits (the larger of the sum
// over containers and the largest init container, plus overhead); services count nodePorts and
// load balancers; persistentvolumeclaims count their requested storage; every object counts as
// count/<resource>[.<group>].
import { Quantity } from "../quantity.js";
import type { KubeObject } from "../types.js";

export type Usage = Map<string, Quantity>;

export interface ResourceKind {
  group: string;
  version: string;
  resource: string;
}

/** count/<resource> for the core group, count/<resource>.<group> otherwise. */
export function countKey(kind: ResourceKind): string {
  return kind.group === "" ? `count/${kind.resource}` : `count/${kind.resource}.${kind.group}`;
}

/** The core kinds whose plain names (pods, services, ...) quotas also count. */
export const legacyCountNames: Record<string, string> = {
  pods: "pods",
  services: "services",
  configmaps: "configmaps",
  secrets: "secrets",
  persistentvolumeclaims: "persistentvolumeclaims",
  replicationcontrollers: "replicationcontrollers",
  resourcequotas: "resourcequotas",
};

function add(usage: Usage, key: string, q: Quantity): void {
  const prev = usage.get(key);
  usage.set(key, prev === undefined ? q : prev.add(q));
}

function parse(value: unknown): Quantity | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  try {
    return Quantity.parse(value);
  } catch {
    return undefined;
  }
}

export function isTerminalPod(pod: KubeObject): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** Per-resource requests or limits of a pod spec: max(sum of containers, max of init containers) + overhead. */
function podResources(spec: KubeObject, field: "requests" | "limits"): Usage {
  const sum: Usage = new Map();
  for (const c of Array.isArray(spec.containers) ? spec.containers : [])
    for (const [name, value] of Object.entries(c?.resources?.[field] ?? {})) {
      const q = parse(value);
      if (q !== undefined) add(sum, name, q);
    }
  for (const c of Array.isArray(spec.initContainers) ? spec.initContainers : [])
    for (const [name, value] of Object.entries(c?.resources?.[field] ?? {})) {
      const q = parse(value);
      const cur = sum.get(name);
      if (q !== undefined && (cur === undefined || q.cmp(cur) > 0)) sum.set(name, q);
    }
  for (const [name, value] of Object.entries(spec.overhead ?? {})) {
    const q = parse(value);
    if (q !== undefined) add(sum, name, q);
  }
  return sum;
}

export function podUsage(pod: KubeObject): Usage {
  const usage: Usage = new Map();
  if (isTerminalPod(pod)) return usage;
  const one = Quantity.fromValue(1);
  usage.set("pods", one);
  usage.set("count/pods", one);
  const spec = pod.spec ?? {};
  for (const [name, q] of podResources(spec, "requests")) {
    usage.set(`requests.${name}`, q);
    // The bare names cpu and memory mean requests, as upstream.
    if (name === "cpu" || name === "memory" || name === "ephemeral-storage") usage.set(name, q);
  }
  for (const [name, q] of podResources(spec, "limits")) usage.set(`limits.${name}`, q);
  return usage;
}

/** What one object of the kind counts against a quota. */
export function objectUsage(kind: ResourceKind, obj: KubeObject): Usage {
  if (kind.group === "" && kind.resource === "pods") return podUsage(obj);
  const usage: Usage = new Map();
  const one = Quantity.fromValue(1);
  usage.set(countKey(kind), one);
  if (kind.group !== "") return usage;
  const legacy = legacyCountNames[kind.resource];
  if (legacy !== undefined) usage.set(legacy, one);
  if (kind.resource === "services") {
    const type = obj.spec?.type;
    if (type === "LoadBalancer") usage.set("services.loadbalancers", one);
    if (type === "NodePort" || type === "LoadBalancer") {
      const ports = Array.isArray(obj.spec?.ports) ? obj.spec.ports.length : 0;
      usage.set("services.nodeports", Quantity.fromValue(ports));
    }
  }
  if (kind.resource === "persistentvolumeclaims") {
    const storage = parse(obj.spec?.resources?.requests?.storage);
    if (storage !== undefined) usage.set("requests.storage", storage);
  }
  return usage;
}

/** Sums usages, keeping only the resources in `only` when given. */
export function sumUsage(usages: Iterable<Usage>, only?: Set<string>): Usage {
  const total: Usage = new Map();
  for (const u of usages) for (const [k, q] of u) if (only === undefined || only.has(k)) add(total, k, q);
  return total;
}

/** Quota scopes kite evaluates: they select which pods a quota counts. */
export function podMatchesScopes(pod: KubeObject, scopes: string[]): boolean {
  const terminating = typeof pod.spec?.activeDeadlineSeconds === "number";
  const bestEffort = ["requests", "limits"].every((f) =>
    (Array.isArray(pod.spec?.containers) ? pod.spec.containers : []).every(
      (c: KubeObject) => Object.keys(c?.resources?.[f] ?? {}).length === 0,
    ),
  );
  return scopes.every((s) => {
    if (s === "Terminating") return terminating;
    if (s === "NotTerminating") return !terminating;
    if (s === "BestEffort") return bestEffort;
    if (s === "NotBestEffort") return !bestEffort;
    return false;
  });
}

export const supportedScopes = new Set(["Terminating", "NotTerminating", "BestEffort", "NotBestEffort"]);
