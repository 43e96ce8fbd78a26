// Which kinds a quota's hard limits ask the controller to count.
import type { ResourceKind } from "./usage.js";

const groupVersions: Record<string, string> = {
  "": "v1",
  apps: "v1",
  batch: "v1",
  "networking.k8s.io": "v1",
  "discovery.k8s.io": "v1",
  "coordination.k8s.io": "v1",
  "rbac.authorization.k8s.io": "v1",
  policy: "v1",
  "storage.k8s.io": "v1",
  autoscaling: "v2",
};

const core = (resource: string): ResourceKind => ({ group: "", version: "v1", resource });

/** The kind a hard-limit name is counted from; undefined for names kite cannot count. */
export function kindForResourceName(name: string): ResourceKind | undefined {
  if (name.startsWith("count/")) {
    const rest = name.slice("count/".length);
    const dot = rest.indexOf(".");
    const resource = dot < 0 ? rest : rest.slice(0, dot);
    const group = dot < 0 ? "" : rest.slice(dot + 1);
    const version = groupVersions[group];
    return version === undefined || resource === "" ? undefined : { group, version, resource };
  }
  if (
    name === "pods" ||
    name === "cpu" ||
    name === "memory" ||
    name === "ephemeral-storage" ||
    name.startsWith("requests.") ||
    name.startsWith("limits.")
  )
    return name === "requests.storage" ? core("persistentvolumeclaims") : core("pods");
  if (name === "services" || name.startsWith("services.")) return core("services");
  if (name.endsWith(".storageclass.storage.k8s.io/requests.storage")) return core("persistentvolumeclaims");
  if (
    ["configmaps", "secrets", "persistentvolumeclaims", "replicationcontrollers", "resourcequotas"].includes(
      name,
    )
  )
    return core(name);
  return undefined;
}

export function kindKey(kind: ResourceKind): string {
  return `${kind.resource}.${kind.group}`;
}
