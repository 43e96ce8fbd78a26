// The set of served resources, looked up the ways the REST layer and discovery need:
// by group/version/resource, by group and kind, and by plural, singular or short name.

import type { ResourceDef } from "../types.js";
import { daemonsets, deployments, replicasets, statefulsets } from "./apps.js";
import { cronjobs, jobs } from "./batch.js";
import { configmaps, limitranges, resourcequotas, secrets, serviceaccounts } from "./config.js";
import { endpoints, events, namespaces, nodes } from "./core.js";
import {
  clusterrolebindings,
  clusterroles,
  endpointslices,
  ingresses,
  leases,
  rolebindings,
  roles,
} from "./other.js";
import { pods } from "./pods.js";
import { services } from "./services.js";

export class ResourceRegistry {
  private readonly defs: ResourceDef[];
  private readonly byResource = new Map<string, ResourceDef>();
  private readonly byGroupKind = new Map<string, ResourceDef>();

  constructor(defs: ResourceDef[]) {
    this.defs = [...defs];
    for (const def of this.defs) {
      const key = `${def.group}/${def.version}/${def.resource}`;
      if (this.byResource.has(key)) throw new Error(`resource ${key} is defined twice`);
      this.byResource.set(key, def);
      const gk = `${def.group}/${def.kind}`;
      if (!this.byGroupKind.has(gk)) this.byGroupKind.set(gk, def);
    }
  }

  all(): ResourceDef[] {
    return [...this.defs];
  }

  lookup(group: string, version: string, resource: string): ResourceDef | undefined {
    return this.byResource.get(`${group}/${version}/${resource}`);
  }

  byKind(group: string, kind: string): ResourceDef | undefined {
    return this.byGroupKind.get(`${group}/${kind}`);
  }

  /** A resource named by plural, singular or short name (case-insensitive), as kubectl resolves them. */
  resolve(name: string): ResourceDef | undefined {
    const n = name.toLowerCase();
    return (
      this.defs.find((d) => d.resource === n) ??
      this.defs.find((d) => d.singular === n) ??
      this.defs.find((d) => d.shortNames.includes(n))
    );
  }

  /** Each group/version once, in the order first defined (core first). */
  groupVersions(): Array<{ group: string; version: string }> {
    const seen = new Set<string>();
    const out: Array<{ group: string; version: string }> = [];
    for (const d of this.defs) {
      const key = `${d.group}/${d.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ group: d.group, version: d.version });
    }
    return out;
  }
}

/** Every resource of issue 5, core first. */
export function builtinRegistry(): ResourceRegistry {
  return new ResourceRegistry([
    namespaces,
    pods,
    services,
    endpoints,
    nodes,
    configmaps,
    secrets,
    serviceaccounts,
    events,
    resourcequotas,
    limitranges,
    deployments,
    replicasets,
    daemonsets,
    statefulsets,
    jobs,
    cronjobs,
    leases,
    endpointslices,
    ingresses,
    roles,
    clusterroles,
    rolebindings,
    clusterrolebindings,
  ]);
}
