// One resource's verbs over the REST client: get, list, create, update, updateStatus, patch (merge,
// strategic, json, server-side apply), delete, deletecollection and watch, plus subresources
// (binding, scale, eviction, status). Paths follow upstream: /api/v1 for the core group,
// /apis/{group}/{version} otherwise, /namespaces/{ns} for namespaced requests.
import type { KubeList, KubeObject, Status } from "../api/index.js";
import type { RestClient } from "./rest.js";
import type { WatchStream } from "./watch.js";

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export type PatchType = "merge" | "strategic" | "json" | "apply";

const patchContentTypes: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: "Exact" | "NotOlderThan";
  timeoutMs?: number;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** Server-side end of the watch. */
  timeoutSeconds?: number;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  timeoutMs?: number;
}

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take over conflicting fields. */
  force?: boolean;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  timeoutMs?: number;
}

function writeQuery(opts: WriteOptions | undefined, force?: boolean) {
  return {
    dryRun: opts?.dryRun ? "All" : undefined,
    fieldManager: opts?.fieldManager,
    force: force === undefined ? undefined : String(force),
  };
}

function deleteBody(opts: DeleteOptions | undefined): Record<string, unknown> | undefined {
  if (!opts) return undefined;
  const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1" };
  if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
  if (opts.propagationPolicy !== undefined) body.propagationPolicy = opts.propagationPolicy;
  if (opts.preconditions !== undefined) body.preconditions = opts.preconditions;
  if (opts.dryRun) body.dryRun = ["All"];
  return body;
}

function requireName(name: string | undefined, verb: string): string {
  if (typeof name !== "string" || name === "") throw new Error(`${verb} needs an object name`);
  return name;
}

export class ResourceClient<T extends KubeObject = KubeObject> {
  constructor(
    private readonly rest: RestClient,
    readonly gvr: GroupVersionResource,
    readonly namespace?: string,
  ) {}

  /** The same resource in another namespace (undefined: all namespaces / cluster scope). */
  inNamespace(namespace: string | undefined): ResourceClient<T> {
    return new ResourceClient<T>(this.rest, this.gvr, namespace);
  }

  /** The collection path, in `namespace` when given (else the client's namespace). */
  path(name?: string, subresource?: string, namespace = this.namespace): string {
    const { group, version, resource } = this.gvr;
    let p = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
    if (namespace !== undefined && namespace !== "") p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${resource}`;
    if (name !== undefined) p += `/${encodeURIComponent(name)}`;
    if (subresource !== undefined) p += `/${subresource}`;
    return p;
  }

  private nsOf(obj: KubeObject): string | undefined {
    return this.namespace ?? obj.metadata?.namespace;
  }

  async get(name: string, opts: { resourceVersion?: string; timeoutMs?: number } = {}): Promise<T> {
    return this.rest.request<T>({
      method: "GET",
      path: this.path(requireName(name, "get")),
      query: { resourceVersion: opts.resourceVersion },
      timeoutMs: opts.timeoutMs,
    });
  }

  async list(opts: ListOptions = {}): Promise<KubeList<T>> {
    const { timeoutMs, ...query } = opts;
    return this.rest.request<KubeList<T>>({
      method: "GET",
      path: this.path(),
      query: { ...query },
      timeoutMs,
    });
  }

  async create(obj: T, opts?: WriteOptions): Promise<T> {
    return this.rest.request<T>({
      method: "POST",
      path: this.path(undefined, undefined, this.nsOf(obj)),
      query: writeQuery(opts),
      body: obj,
      timeoutMs: opts?.timeoutMs,
    });
  }

  async update(obj: T, opts?: WriteOptions): Promise<T> {
    return this.rest.request<T>({
      method: "PUT",
      path: this.path(requireName(obj.metadata?.name, "update"), undefined, this.nsOf(obj)),
      query: writeQuery(opts),
      body: obj,
      timeoutMs: opts?.timeoutMs,
    });
  }

  async updateStatus(obj: T, opts?: WriteOptions): Promise<T> {
    return this.rest.request<T>({
      method: "PUT",
      path: this.path(requireName(obj.metadata?.name, "updateStatus"), "status", this.nsOf(obj)),
      query: writeQuery(opts),
      body: obj,
      timeoutMs: opts?.timeoutMs,
    });
  }

  /** Patches the object (or its subresource); apply needs opts.fieldManager. */
  async patch(
    name: string,
    type: PatchType,
    patch: unknown,
    opts?: PatchOptions & { subresource?: string },
  ): Promise<T> {
    if (type === "apply" && !opts?.fieldManager) throw new Error("an apply patch needs a fieldManager");
    return this.rest.request<T>({
      method: "PATCH",
      path: this.path(requireName(name, "patch"), opts?.subresource),
      query: writeQuery(opts, type === "apply" ? opts?.force : undefined),
      body: patch,
      contentType: patchContentTypes[type],
      timeoutMs: opts?.timeoutMs,
    });
  }

  /** Deletes the object; the answer is the object (when finalizers or graceful deletion keep it) or a Status. */
  async delete(name: string, opts?: DeleteOptions): Promise<T | Status> {
    return this.rest.request<T | Status>({
      method: "DELETE",
      path: this.path(requireName(name, "delete")),
      body: deleteBody(opts),
      timeoutMs: opts?.timeoutMs,
    });
  }

  async deleteCollection(
    opts: DeleteOptions & { labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<KubeList<T> | Status> {
    return this.rest.request<KubeList<T> | Status>({
      method: "DELETE",
      path: this.path(),
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
      body: deleteBody(opts),
      timeoutMs: opts.timeoutMs,
    });
  }

  async watch(opts: WatchOptions = {}): Promise<WatchStream<T>> {
    return this.rest.watch<T>({
      method: "GET",
      path: this.path(),
      query: {
        watch: "true",
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: opts.allowWatchBookmarks ? "true" : undefined,
        timeoutSeconds: opts.timeoutSeconds,
      },
    });
  }

  /** A subresource of one object: binding, eviction (create), scale (get/update/patch), status. */
  subresource(name: string, subresource: string): SubresourceClient {
    return new SubresourceClient(this.rest, this.path(requireName(name, "subresource"), subresource));
  }
}

export class SubresourceClient {
  constructor(
    private readonly rest: RestClient,
    readonly path: string,
  ) {}

  get<R = KubeObject>(): Promise<R> {
    return this.rest.request<R>({ method: "GET", path: this.path });
  }

  create<R = KubeObject>(body: unknown, opts?: WriteOptions): Promise<R> {
    return this.rest.request<R>({
      method: "POST",
      path: this.path,
      body,
      query: writeQuery(opts),
      timeoutMs: opts?.timeoutMs,
    });
  }

  update<R = KubeObject>(body: unknown, opts?: WriteOptions): Promise<R> {
    return this.rest.request<R>({
      method: "PUT",
      path: this.path,
      body,
      query: writeQuery(opts),
      timeoutMs: opts?.timeoutMs,
    });
  }

  patch<R = KubeObject>(type: PatchType, patch: unknown, opts?: PatchOptions): Promise<R> {
    return this.rest.request<R>({
      method: "PATCH",
      path: this.path,
      body: patch,
      contentType: patchContentTypes[type],
      query: writeQuery(opts, type === "apply" ? opts?.force : undefined),
      timeoutMs: opts?.timeoutMs,
    });
  }
}
