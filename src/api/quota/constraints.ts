// What a quota demands of the objects it covers before it counts them (upstream's evaluators'
// MatchingResources and Constraints): a pod under a quota on cpu or memory must state that request
// or limit in every container, a rule upstream keeps for backward compatibility.
import type { KubeObject } from "../types.js";
import { kindForResourceName } from "./kinds.js";
import type { ResourceKind } from "./usage.js";

/** The quota's resource names that objects of this kind count towards. */
export function matchingResources(kind: ResourceKind, names: Iterable<string>): string[] {
  return [...names].filter((name) => {
    const k = kindForResourceName(name);
    return k !== undefined && k.group === kind.group && k.resource === kind.resource;
  });
}

/** The resources whose presence upstream's pod evaluator enforces per container. */
const validated = new Set([
  "cpu",
  "memory",
  "requests.cpu",
  "requests.memory",
  "limits.cpu",
  "limits.memory",
]);

/** The quota resource names one container states (podComputeUsageHelper's keys). */
function containerResources(container: KubeObject): Set<string> {
  const out = new Set<string>();
  const requests = container?.resources?.requests ?? {};
  const limits = container?.resources?.limits ?? {};
  for (const name of ["cpu", "memory"]) {
    if (requests[name] !== undefined) {
      out.add(name);
      out.add(`requests.${name}`);
    }
    if (limits[name] !== undefined) out.add(`limits.${name}`);
  }
  return out;
}

/**
 * undefined when the pod satisfies the quota's constraints, else upstream's reason:
 * "must specify limits.cpu for: app; must specify requests.memory for: app,sidecar".
 */
export function podConstraintViolation(pod: KubeObject, required: Iterable<string>): string | undefined {
  const needed = [...required].filter((r) => validated.has(r));
  if (needed.length === 0) return undefined;
  const missing = new Map<string, Set<string>>();
  const containers = [
    ...(Array.isArray(pod.spec?.containers) ? pod.spec.containers : []),
    ...(Array.isArray(pod.spec?.initContainers) ? pod.spec.initContainers : []),
  ];
  for (const c of containers) {
    const has = containerResources(c);
    for (const r of needed) {
      if (has.has(r)) continue;
      const names = missing.get(r) ?? new Set<string>();
      names.add(String(c?.name ?? ""));
      missing.set(r, names);
    }
  }
  if (missing.size === 0) return undefined;
  return [...missing.keys()]
    .sort()
    .map((r) => `must specify ${r} for: ${[...(missing.get(r) ?? [])].sort().join(",")}`)
    .join("; ");
}
