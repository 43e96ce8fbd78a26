// URL paths to resource requests, as upstream's RequestInfoFactory splits them:
// /api/v1/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]] and /apis/{group}/{version}/...,
// where /api/v1/namespaces/{name}/status|finalize address the namespace itself.
import { makeStatus, StatusError } from "../../api/index.js";
import type { ResourceRequest, RestRegistry } from "./context.js";

const namespaceSubresources = new Set(["status", "finalize"]);

/** Upstream's answer for any path under /api or /apis that names no resource it serves. */
export function notFoundPath(): StatusError {
  return new StatusError(makeStatus(404, "NotFound", "the server could not find the requested resource", {}));
}

export interface ParsedPath {
  request?: ResourceRequest;
  /** The legacy /watch/ path prefix. */
  watchPrefix: boolean;
}

/**
 * undefined: not a resource path (discovery and everything else belong to the server). Throws the 404
 * Status for resource-shaped paths naming unknown resources or subresources.
 */
export function parseResourcePath(
  pathname: string,
  query: URLSearchParams,
  registry: RestRegistry,
): ParsedPath | undefined {
  const raw = pathname.split("/").filter((s) => s !== "");
  let parts: string[];
  try {
    parts = raw.map((s) => decodeURIComponent(s));
  } catch {
    throw notFoundPath();
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api") {
    if (parts.length < 3) return undefined;
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis") {
    if (parts.length < 4) return undefined;
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let watchPrefix = false;
  if (rest[0] === "watch") {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !namespaceSubresources.has(rest[2]!)) rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) throw notFoundPath();
  const [resource, name, subresource] = rest as [string, string | undefined, string | undefined];
  const def = registry.lookup(group, version, resource);
  if (def === undefined) throw notFoundPath();
  if (resource === "namespaces") namespace = undefined;
  if (!def.namespaced && namespace !== undefined) throw notFoundPath();
  const served =
    group === "" && resource === "namespaces"
      ? [...def.subresources, ...namespaceSubresources]
      : def.subresources;
  if (subresource !== undefined && !served.includes(subresource)) throw notFoundPath();
  if (name === "" || namespace === "") throw notFoundPath();
  return {
    watchPrefix,
    request: { group, version, namespace, resource, name, subresource, def, query },
  };
}
