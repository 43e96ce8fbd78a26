// API discovery derived from the resource registry: aggregated discovery
// (apidiscovery.k8s.io v2 and v2beta1 APIGroupDiscoveryList) on /api and /apis when the Accept
// header asks for it, otherwise the legacy documents (APIVersions, APIGroupList, APIGroup,
// APIResourceList). kubectl 1.27 asks only for v2beta1 and fails on a v2 answer, so the version
// the client asked for is the one served. Bodies are built once; the registry is fixed at start.
import type { ServerResponse } from "node:http";
import { notAcceptable } from "../../api/index.js";
import type { ResourceDef } from "../types.js";
import { type Negotiated, negotiateDiscovery } from "./negotiate.js";
import { sendStatus } from "./respond.js";

const ACCEPTED = [
  "application/json",
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
  "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
];

/** What discovery needs from the ResourceRegistry. */
export interface DiscoverySource {
  all(): ResourceDef[];
  groupVersions(): Array<{ group: string; version: string }>;
}

interface Kind {
  group: string;
  version: string;
  kind: string;
}

interface SubresourceInfo {
  responseKind: Kind;
  verbs: string[];
}

/** The kind each subresource answers with and its verbs, as upstream registers them. */
function subresourceInfo(def: ResourceDef, sub: string): SubresourceInfo {
  const own: Kind = { group: def.group, version: def.version, kind: def.kind };
  const core = (kind: string): Kind => ({ group: "", version: "v1", kind });
  switch (sub) {
    case "status":
    case "ephemeralcontainers":
    case "resize":
      return { responseKind: own, verbs: ["get", "patch", "update"] };
    case "scale":
      return {
        responseKind: { group: "autoscaling", version: "v1", kind: "Scale" },
        verbs: ["get", "patch", "update"],
      };
    case "binding":
      return { responseKind: core("Binding"), verbs: ["create"] };
    case "eviction":
      return { responseKind: { group: "policy", version: "v1", kind: "Eviction" }, verbs: ["create"] };
    case "log":
      return { responseKind: core("Pod"), verbs: ["get"] };
    case "exec":
      return { responseKind: core("PodExecOptions"), verbs: ["create", "get"] };
    case "attach":
      return { responseKind: core("PodAttachOptions"), verbs: ["create", "get"] };
    case "portforward":
      return { responseKind: core("PodPortForwardOptions"), verbs: ["create", "get"] };
    case "proxy":
      return {
        responseKind: core(`${def.kind}ProxyOptions`),
        verbs: ["create", "delete", "get", "patch", "update"],
      };
    default:
      return { responseKind: own, verbs: ["get"] };
  }
}

function groupVersionString(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

/** The resources of each group-version, in registry order; groups in first-seen order. */
function byGroup(source: DiscoverySource): Map<string, Map<string, ResourceDef[]>> {
  const groups = new Map<string, Map<string, ResourceDef[]>>();
  for (const { group, version } of source.groupVersions()) {
    const versions = groups.get(group) ?? new Map<string, ResourceDef[]>();
    versions.set(version, []);
    groups.set(group, versions);
  }
  for (const def of source.all()) {
    const versions = groups.get(def.group) ?? new Map<string, ResourceDef[]>();
    const list = versions.get(def.version) ?? [];
    list.push(def);
    versions.set(def.version, list);
    groups.set(def.group, versions);
  }
  return groups;
}

function aggregatedResource(def: ResourceDef): Record<string, unknown> {
  const out: Record<string, unknown> = {
    resource: def.resource,
    responseKind: { group: def.group, version: def.version, kind: def.kind },
    scope: def.namespaced ? "Namespaced" : "Cluster",
    singularResource: def.singular,
    verbs: def.verbs,
  };
  if (def.shortNames.length > 0) out.shortNames = def.shortNames;
  if (def.categories.length > 0) out.categories = def.categories;
  if (def.subresources.length > 0) {
    out.subresources = def.subresources.map((sub) => {
      const info = subresourceInfo(def, sub);
      return { subresource: sub, responseKind: info.responseKind, verbs: info.verbs };
    });
  }
  return out;
}

function aggregatedGroup(group: string, versions: Map<string, ResourceDef[]>): Record<string, unknown> {
  return {
    metadata: { name: group, creationTimestamp: null },
    versions: [...versions].map(([version, defs]) => ({
      version,
      resources: defs.map(aggregatedResource),
      freshness: "Current",
    })),
  };
}

function legacyResources(defs: ResourceDef[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const def of defs) {
    const entry: Record<string, unknown> = {
      name: def.resource,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: def.verbs,
    };
    if (def.shortNames.length > 0) entry.shortNames = def.shortNames;
    if (def.categories.length > 0) entry.categories = def.categories;
    out.push(entry);
    for (const sub of def.subresources) {
      const info = subresourceInfo(def, sub);
      const subEntry: Record<string, unknown> = {
        name: `${def.resource}/${sub}`,
        singularName: "",
        namespaced: def.namespaced,
      };
      if (info.responseKind.group !== def.group || info.responseKind.version !== def.version) {
        subEntry.group = info.responseKind.group;
        subEntry.version = info.responseKind.version;
      }
      subEntry.kind = info.responseKind.kind;
      subEntry.verbs = info.verbs;
      out.push(subEntry);
    }
  }
  return out;
}

function apiGroup(group: string, versions: Map<string, ResourceDef[]>): Record<string, unknown> {
  const list = [...versions.keys()].map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: list, preferredVersion: list[0] };
}

/** The discovery documents, prebuilt as JSON text. */
export class Discovery {
  private readonly aggregatedCore: Record<string, unknown>[];
  private readonly aggregatedGroups: Record<string, unknown>[];
  private readonly documents = new Map<string, string>();
  private readonly coreVersions: string[];

  constructor(source: DiscoverySource) {
    const groups = byGroup(source);
    const core = groups.get("");
    this.aggregatedCore = core ? [aggregatedGroup("", core)] : [];
    this.aggregatedGroups = [];
    const apiGroups: Record<string, unknown>[] = [];
    for (const [group, versions] of groups) {
      for (const [version, defs] of versions) {
        const path = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
        this.documents.set(
          path,
          JSON.stringify({
            kind: "APIResourceList",
            apiVersion: "v1",
            groupVersion: groupVersionString(group, version),
            resources: legacyResources(defs),
          }),
        );
      }
      if (group === "") continue;
      this.aggregatedGroups.push(aggregatedGroup(group, versions));
      const doc = apiGroup(group, versions);
      apiGroups.push(doc);
      this.documents.set(`/apis/${group}`, JSON.stringify({ kind: "APIGroup", apiVersion: "v1", ...doc }));
    }
    this.documents.set(
      "/apis",
      JSON.stringify({ kind: "APIGroupList", apiVersion: "v1", groups: apiGroups }),
    );
    this.coreVersions = core ? [...core.keys()] : [];
  }

  /** Serves a discovery path; returns false for paths that are not discovery documents. */
  serve(path: string, accept: string | undefined, serverAddress: string, res: ServerResponse): boolean {
    const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    if (trimmed !== "/api" && !this.documents.has(trimmed)) return false;
    if (trimmed === "/api" || trimmed === "/apis") {
      const negotiated = negotiateDiscovery(accept);
      if (negotiated === undefined) {
        sendStatus(res, notAcceptable(ACCEPTED).status);
        return true;
      }
      if (negotiated.aggregated) {
        const items = trimmed === "/api" ? this.aggregatedCore : this.aggregatedGroups;
        sendJson(res, negotiated, aggregatedList(negotiated.aggregated, items));
        return true;
      }
      if (trimmed === "/api") {
        sendJson(
          res,
          negotiated,
          JSON.stringify({
            kind: "APIVersions",
            versions: this.coreVersions,
            serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
          }),
        );
        return true;
      }
    }
    sendJson(res, { contentType: "application/json" }, this.documents.get(trimmed) ?? "{}");
    return true;
  }
}

function aggregatedList(version: "v2" | "v2beta1", items: Record<string, unknown>[]): string {
  return JSON.stringify({
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items,
  });
}

function sendJson(res: ServerResponse, negotiated: Pick<Negotiated, "contentType">, body: string): void {
  res.writeHead(200, {
    "Content-Type": negotiated.contentType,
    "Content-Length": Buffer.byteLength(body),
    Vary: "Accept",
  });
  res.end(body);
}
