// The contracts between the apiserver's parts: resource definitions (what each kind is and how it
// is defaulted, validated and printed), the object store over the etcd v3 API with its watch
// cache, and the request context the REST handlers pass around.
import type { FieldError, FieldGetter, KubeObject, Status, WatchEvent } from "../api/index.js";

/** group "" is the legacy core group (served under /api/v1). */
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface TableColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format: string;
  description: string;
  /** 0 = always shown; 1 = shown with -o wide. */
  priority: number;
}

/** How a table row is built, as upstream's printers (pkg/printers/internalversion/printers.go). */
export interface TablePrinter {
  columns: TableColumn[];
  /** One cell per column, in order; the Name column first. `now` is for Age columns. */
  cells(obj: KubeObject, now: Date): Array<string | number | boolean | null>;
}

/** The write being prepared: what the handler knows about the request. */
export interface WriteContext {
  /** Only the status subresource may change status; only the main resource may change spec. */
  subresource?: string;
  now: Date;
  dryRun: boolean;
}

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Plural, lower case: "pods". */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** e.g. ["status", "scale", "binding", "log", "eviction"]. */
  subresources: string[];
  /** Field selector support beyond metadata.name / metadata.namespace. */
  fields?: { supported: readonly string[]; get: FieldGetter };
  table?: TablePrinter;
  /** Fills defaults in place (as upstream's SetDefaults_*). Runs on create and update. */
  defaults?(obj: KubeObject): void;
  /** Returns field errors (empty when valid). `old` is set on update. */
  validate?(obj: KubeObject, old: KubeObject | undefined): FieldError[];
  /**
   * Strategy hooks as upstream's rest.RESTCreateStrategy/RESTUpdateStrategy: reset status on
   * create, keep status on main-resource updates (and spec on status updates), bump
   * metadata.generation when spec changes.
   */
  prepareForCreate?(obj: KubeObject, ctx: WriteContext): void;
  prepareForUpdate?(obj: KubeObject, old: KubeObject, ctx: WriteContext): void;
  /** Whether the kind has a spec whose changes bump metadata.generation. */
  hasGeneration?: boolean;
}

/** Options for a list, with Kubernetes semantics (resourceVersion, limit/continue). */
export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  /** "" = most recent (consistent read); "0" = any (served from the cache); else not older than. */
  resourceVersion?: string;
  resourceVersionMatch?: "NotOlderThan" | "Exact";
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Events after this resourceVersion; "" or "0" start with synthetic ADDED events for the current state. */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** Streaming list: ADDED for current objects, then a BOOKMARK annotated k8s.io/initial-events-end. */
  sendInitialEvents?: boolean;
}

export interface WatchStream {
  /** Called for each event in order; an ERROR event (410 Expired) ends the stream. */
  onEvent(handler: (event: WatchEvent<KubeObject>) => void): void;
  stop(): void;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/**
 * Objects of every resource, kept as JSON under /registry/<group>/<resource>/<namespace>/<name>
 * ("core" for the legacy group; no namespace segment for cluster-scoped kinds) in an etcd v3 store.
 * resourceVersion is the store's mod revision. Errors are StatusError (src/api) with upstream's
 * messages: 404 NotFound, 409 AlreadyExists / Conflict, 410 Expired, 500 for store failures.
 */
export interface ObjectStore {
  get(def: ResourceDef, namespace: string | undefined, name: string): Promise<KubeObject>;
  list(def: ResourceDef, opts: ListOptions): Promise<ListResult>;
  /** Txn(mod_revision == 0): 409 AlreadyExists if present. Returns the stored object with its resourceVersion. */
  create(def: ResourceDef, obj: KubeObject): Promise<KubeObject>;
  /** Txn(mod_revision == obj.metadata.resourceVersion): 409 Conflict on mismatch. */
  update(def: ResourceDef, obj: KubeObject): Promise<KubeObject>;
  /**
   * Read-modify-write with retries on conflict, for handlers and controllers that must apply a
   * change to the latest version (patch, status updates). `mutate` may throw a StatusError.
   */
  guaranteedUpdate(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
  ): Promise<KubeObject>;
  /** Removes the key; with preconditions on uid/resourceVersion when given. Returns the last state. */
  delete(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    preconditions?: { uid?: string; resourceVersion?: string },
  ): Promise<KubeObject>;
  watch(def: ResourceDef, opts: WatchOptions): Promise<WatchStream>;
  /** The newest resourceVersion the store has seen (for bookmarks and list metadata). */
  currentResourceVersion(): Promise<string>;
  close(): Promise<void>;
}

/** Who is calling, after authentication. */
export interface UserInfo {
  username: string;
  groups: string[];
}

export interface AuthorizationRequest {
  user: UserInfo;
  verb: string;
  gvr: GroupVersionResource;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** RBAC comes later; for now authenticated means allowed (AlwaysAllowAuthorizer). */
export interface Authorizer {
  authorize(req: AuthorizationRequest): Promise<{ allowed: boolean; reason?: string }>;
}

export type { FieldError, KubeObject, Status, WatchEvent };
