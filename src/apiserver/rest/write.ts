// create and update: the metadata rules of upstream's rest.BeforeCreate/BeforeUpdate, the
// resource's defaults/strategy/validation, namespace lifecycle admission, managedFields, dryRun,
// and deletion of objects whose last finalizer an update removes.
import {
  badRequest,
  conflict,
  deepClone,
  escapeFieldValue,
  forbidden,
  invalid,
  type KubeObject,
  notFound,
  recordUpdate,
  schemaFor,
} from "../../api/index.js";
import type { ResourceDef, WriteContext } from "../types.js";
import { createWithinQuota } from "./admission-quota.js";
import { apiVersionOf, type Call, type Env, rfc3339, withType } from "./context.js";
import { isNamespaces } from "./namespaces.js";
import { dryRunOf, managerOf } from "./options.js";
import { writeOne } from "./read.js";
import { allocateServiceIPs, isServices } from "./services.js";

/** utilrand's alphabet: no vowels, so generated names spell no words. */
const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789";

export function generateName(env: Env, base: string): string {
  let suffix = "";
  for (let i = 0; i < 5; i++) suffix += nameAlphabet[Math.floor(env.random() * nameAlphabet.length)];
  return `${base.slice(0, 58)}${suffix}`;
}

/** Checks (or fills in) apiVersion and kind of a request body against the endpoint. */
export function checkTypeMeta(
  def: ResourceDef,
  obj: KubeObject,
  expectedKind = def.kind,
  gv = apiVersionOf(def),
) {
  if (obj.apiVersion !== undefined && obj.apiVersion !== gv)
    throw badRequest(
      `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${gv})`,
    );
  if (obj.kind !== undefined && obj.kind !== expectedKind)
    throw badRequest(
      `the kind in the data (${String(obj.kind)}) does not match the expected kind (${expectedKind})`,
    );
  obj.apiVersion = gv;
  obj.kind = expectedKind;
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  if (typeof obj.metadata !== "object" || Array.isArray(obj.metadata))
    throw badRequest("json: cannot unmarshal metadata into Go struct field of type v1.ObjectMeta");
}

function ctxOf(env: Env, dryRun: boolean, subresource?: string): WriteContext {
  return subresource === undefined ? { now: env.now(), dryRun } : { now: env.now(), dryRun, subresource };
}

/** Top-level fields a write through this endpoint resets, which therefore nobody owns through it. */
export function ignoredFieldsOf(def: ResourceDef, subresource: string | undefined): string[] {
  if (!def.subresources.includes("status")) return [];
  return subresource === "status" ? ["spec"] : ["status"];
}

/**
 * NamespaceLifecycle admission for creates: the namespace must exist and not be terminating. As
 * upstream, it reads the watch cache first and asks the store only when the cache lacks the name
 * (a namespace created a moment ago).
 */
async function admitNamespace(env: Env, def: ResourceDef, namespace: string | undefined, name: string) {
  if (!def.namespaced || namespace === undefined) return;
  const nsDef = env.registry.lookup("", "v1", "namespaces");
  if (nsDef === undefined) return;
  const cached = await env.store.list(nsDef, {
    fieldSelector: `metadata.name=${escapeFieldValue(namespace)}`,
    resourceVersion: "0",
  });
  let ns = cached.items[0];
  if (ns === undefined) {
    try {
      ns = await env.store.get(nsDef, undefined, namespace);
    } catch (err) {
      if ((err as { code?: number }).code === 404) throw notFound("namespaces", namespace);
      throw err;
    }
  }
  if (ns.metadata?.deletionTimestamp || ns.status?.phase === "Terminating")
    throw forbidden(
      { group: def.group, resource: def.resource },
      name,
      `unable to create new content in namespace ${namespace} because it is being terminated`,
    );
}

export interface WriteOptions {
  dryRun: boolean;
  manager: string;
  /** Set when the object comes out of server-side apply, which has recorded managedFields itself. */
  applied?: boolean;
}

/** Turns a decoded body into the object to store on create (BeforeCreate plus admission). */
export async function prepareCreate(
  env: Env,
  call: Call,
  obj: KubeObject,
  wo: WriteOptions,
): Promise<KubeObject> {
  const { def, namespace } = call.rr;
  checkTypeMeta(def, obj);
  const meta = obj.metadata!;
  if (def.namespaced) {
    if (meta.namespace && meta.namespace !== namespace)
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    meta.namespace = namespace;
  } else {
    delete meta.namespace;
  }
  if ((!meta.name || meta.name === "") && typeof meta.generateName === "string" && meta.generateName !== "")
    meta.name = generateName(env, meta.generateName);
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== "")
    throw badRequest("resourceVersion should not be set on objects to be created");
  delete meta.resourceVersion;
  await admitNamespace(env, def, namespace, meta.name ?? "");
  const now = env.now();
  meta.uid = crypto.randomUUID();
  meta.creationTimestamp = rfc3339(now);
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  if (!def.hasGeneration) delete meta.generation;
  def.defaults?.(obj);
  def.prepareForCreate?.(obj, ctxOf(env, wo.dryRun));
  const errs = def.validate?.(obj, undefined) ?? [];
  if (errs.length > 0) throw invalid({ group: def.group, kind: def.kind }, meta.name ?? "", errs);
  if (isServices(def)) await allocateServiceIPs(env, def, obj);
  if (wo.applied) return obj;
  return recordUpdate(undefined, obj, {
    manager: wo.manager,
    apiVersion: apiVersionOf(def),
    now: rfc3339(now),
    schema: schemaFor(apiVersionOf(def), def.kind),
    ignoredFields: ignoredFieldsOf(def, undefined),
  });
}

/** Stores a prepared object (or not, for dryRun) and returns it. */
export async function storeCreate(
  env: Env,
  call: Call,
  obj: KubeObject,
  dryRun: boolean,
): Promise<KubeObject> {
  const { def } = call.rr;
  return withType(def, await createWithinQuota(env, def, obj, dryRun, () => env.store.create(def, obj)));
}

export async function withServiceLock<T>(env: Env, def: ResourceDef, fn: () => Promise<T>): Promise<T> {
  return isServices(def) ? env.serviceLock(fn) : fn();
}

export async function createObject(env: Env, call: Call, body: KubeObject): Promise<void> {
  const q = call.rr.query;
  const wo = { dryRun: dryRunOf(q, "CreateOptions"), manager: managerOf(q, call.req, "CreateOptions") };
  const created = await withServiceLock(env, call.rr.def, async () =>
    storeCreate(env, call, await prepareCreate(env, call, body, wo), wo.dryRun),
  );
  writeOne(env, call, 201, created);
}

/** Checks a body's name and namespace against the URL (update.go's checkName). */
export function checkName(call: Call, obj: KubeObject): void {
  const { name, namespace, def } = call.rr;
  const objName = obj.metadata?.name ?? "";
  if (objName !== name)
    throw badRequest(`the name of the object (${objName}) does not match the name on the URL (${name})`);
  const objNs = obj.metadata?.namespace ?? "";
  if (def.namespaced && objNs !== "" && objNs !== namespace)
    throw badRequest(
      `the namespace of the object (${objNs}) does not match the namespace on the request (${namespace})`,
    );
}

/**
 * The object an update stores, from the current one and the incoming one: the metadata the server
 * owns is kept, a stale resourceVersion is a 409, then strategy, validation and managedFields.
 */
export async function prepareUpdate(
  env: Env,
  call: Call,
  current: KubeObject,
  incoming: KubeObject,
  wo: WriteOptions,
): Promise<KubeObject> {
  const { def, name, subresource } = call.rr;
  const obj = deepClone(incoming);
  checkTypeMeta(def, obj);
  checkName(call, obj);
  const meta = obj.metadata!;
  const cur = current.metadata ?? {};
  const gr = { group: def.group, resource: def.resource };
  if (meta.resourceVersion && meta.resourceVersion !== cur.resourceVersion) throw conflict(gr, name!);
  if (meta.uid && meta.uid !== cur.uid)
    throw conflict(
      gr,
      name!,
      `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${cur.uid}`,
    );
  if (def.namespaced) meta.namespace = cur.namespace;
  meta.uid = cur.uid;
  meta.resourceVersion = cur.resourceVersion;
  meta.creationTimestamp = cur.creationTimestamp;
  if (cur.deletionTimestamp) meta.deletionTimestamp = cur.deletionTimestamp;
  else delete meta.deletionTimestamp;
  if (cur.deletionGracePeriodSeconds !== undefined)
    meta.deletionGracePeriodSeconds = cur.deletionGracePeriodSeconds;
  else delete meta.deletionGracePeriodSeconds;
  def.defaults?.(obj);
  const sub = subresource;
  def.prepareForUpdate?.(obj, current, ctxOf(env, wo.dryRun, sub));
  const errs = def.validate?.(obj, current) ?? [];
  if (errs.length > 0) throw invalid({ group: def.group, kind: def.kind }, name!, errs);
  if (isServices(def)) await allocateServiceIPs(env, def, obj, current);
  if (wo.applied) return obj;
  return recordUpdate(current, obj, {
    manager: wo.manager,
    apiVersion: apiVersionOf(def),
    now: rfc3339(env.now()),
    schema: schemaFor(apiVersionOf(def), def.kind),
    ignoredFields: ignoredFieldsOf(def, sub),
    ...(sub ? { subresource: sub } : {}),
  });
}

/** Upstream's ShouldDeleteDuringUpdate (namespaces also wait for spec.finalizers). */
function deleteAfterUpdate(def: ResourceDef, obj: KubeObject, old: KubeObject): boolean {
  if ((obj.metadata?.finalizers ?? []).length > 0 || !old.metadata?.deletionTimestamp) return false;
  if (isNamespaces(def) && (obj.spec?.finalizers ?? []).length > 0) return false;
  return (old.metadata.deletionGracePeriodSeconds ?? 0) === 0;
}

/**
 * Reads the latest object, builds the new one with `build`, and writes it unless dryRun; an update
 * that removes the last finalizer of an object being deleted deletes it.
 */
export async function commitUpdate(
  env: Env,
  call: Call,
  dryRun: boolean,
  build: (current: KubeObject) => Promise<KubeObject>,
): Promise<KubeObject> {
  const { def, namespace, name } = call.rr;
  return withServiceLock(env, def, async () => {
    if (dryRun) return withType(def, await build(withType(def, await env.store.get(def, namespace, name!))));
    let before: KubeObject | undefined;
    const updated = await env.store.guaranteedUpdate(def, namespace, name!, async (current) => {
      before = current;
      return build(withType(def, current));
    });
    if (before !== undefined && deleteAfterUpdate(def, updated, before)) {
      const m = updated.metadata ?? {};
      try {
        return withType(
          def,
          await env.store.delete(def, namespace, name!, { uid: m.uid, resourceVersion: m.resourceVersion }),
        );
      } catch (err) {
        // Someone changed or removed it in between; their write decides.
        if ((err as { code?: number }).code !== 409 && (err as { code?: number }).code !== 404) throw err;
      }
    }
    return withType(def, updated);
  });
}

export async function updateObject(env: Env, call: Call, body: KubeObject): Promise<void> {
  const q = call.rr.query;
  const wo = { dryRun: dryRunOf(q, "UpdateOptions"), manager: managerOf(q, call.req, "UpdateOptions") };
  const updated = await commitUpdate(env, call, wo.dryRun, (current) =>
    prepareUpdate(env, call, current, body, wo),
  );
  writeOne(env, call, 200, updated);
}
