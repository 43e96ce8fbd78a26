// Which resources the apiserver serves, from discovery (/api/v1 and each group's preferred version
// under /apis), as the garbage collector and the namespace controller need them: resources only
// (no subresources), with their kind, scope and verbs.
import type { GroupVersionResource, RestClient } from "../../client/index.js";

export interface DiscoveredResource {
  gvr: GroupVersionResource;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

interface ApiResourceList {
  groupVersion?: string;
  resources?: Array<{ name: string; kind: string; namespaced: boolean; verbs?: string[] }>;
}

interface ApiGroupList {
  groups?: Array<{
    name: string;
    preferredVersion?: { version: string };
    versions?: Array<{ version: string }>;
  }>;
}

/** The apiVersion string ("v1", "apps/v1") of a group and version. */
export function apiVersionOf(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

export async function discoverResources(client: RestClient): Promise<DiscoveredResource[]> {
  const lists: Array<{ group: string; version: string; path: string }> = [
    { group: "", version: "v1", path: "/api/v1" },
  ];
  const groups = await client.request<ApiGroupList>({ method: "GET", path: "/apis" });
  for (const g of groups.groups ?? []) {
    const version = g.preferredVersion?.version ?? g.versions?.[0]?.version;
    if (version !== undefined) lists.push({ group: g.name, version, path: `/apis/${g.name}/${version}` });
  }
  const out: DiscoveredResource[] = [];
  for (const { group, version, path } of lists) {
    const list = await client.request<ApiResourceList>({ method: "GET", path });
    for (const r of list.resources ?? []) {
      if (r.name.includes("/")) continue;
      out.push({
        gvr: { group, version, resource: r.name },
        kind: r.kind,
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
      });
    }
  }
  return out;
}

export function supports(r: DiscoveredResource, ...verbs: string[]): boolean {
  return verbs.every((v) => r.verbs.includes(v));
}
