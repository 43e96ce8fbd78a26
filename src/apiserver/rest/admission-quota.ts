// ResourceQuota admission on create (upstream's plugin/pkg/admission/resourcequota): an object is
// checked against every quota of its namespace that covers it; a pod must state the cpu/memory a
// quota tracks; usage beyond a hard limit is a 403 with upstream's message. Before the object is
// stored its usage is charged to status.used of each covering quota by a compare-and-swap on the
// quota's resourceVersion (the store's guaranteedUpdate re-reads and re-checks on conflict), so two
// creates racing for the last slot cannot both pass, across apiservers too. A create that then
// fails gives its charge back; the resourcequota controller's recount settles any other drift.
import { deepClone, forbidden, type KubeObject, Quantity } from "../../api/index.js";
import {
  checkQuota,
  matchingResources,
  objectUsage,
  podConstraintViolation,
  podMatchesScopes,
  type ResourceKind,
  supportedScopes,
} from "../../api/quota/index.js";
import type { ResourceDef } from "../types.js";
import type { Env } from "./context.js";

type Charge = Record<string, string>;

/** Kinds upstream's quota configuration ignores. */
function ignored(def: ResourceDef): boolean {
  return def.resource === "events" && (def.group === "" || def.group === "events.k8s.io");
}

function isPods(kind: ResourceKind): boolean {
  return kind.group === "" && kind.resource === "pods";
}

/** Whether this quota counts the object at all (kite leaves scopeSelector quotas uncounted). */
function covers(quota: KubeObject, kind: ResourceKind, obj: KubeObject): boolean {
  if (quota.spec?.scopeSelector !== undefined) return false;
  const scopes: string[] = Array.isArray(quota.spec?.scopes) ? quota.spec.scopes : [];
  if (scopes.some((s) => !supportedScopes.has(s))) return false;
  if (scopes.length === 0) return true;
  return isPods(kind) && podMatchesScopes(obj, scopes);
}

/** Upstream's first pass over the quotas: the pod constraints, and usage the controller has counted. */
function precheck(quota: KubeObject, kind: ResourceKind, obj: KubeObject): string | undefined {
  const name = String(quota.metadata?.name ?? "");
  if (!covers(quota, kind, obj)) return undefined;
  const hard: Record<string, string> = quota.status?.hard ?? {};
  const used: Record<string, string> = quota.status?.used ?? {};
  const restricted = matchingResources(kind, Object.keys(hard)).sort();
  if (restricted.length === 0) return undefined;
  if (isPods(kind)) {
    const violation = podConstraintViolation(obj, restricted);
    if (violation !== undefined) return `failed quota: ${name}: ${violation}`;
  }
  if (restricted.some((r) => used[r] === undefined))
    return `status unknown for quota: ${name}, resources: ${restricted.join(",")}`;
  return undefined;
}

/** What the object adds to this quota's status.used (empty when it limits none of it), or why not. */
function evaluate(
  quota: KubeObject,
  kind: ResourceKind,
  obj: KubeObject,
  delta: Map<string, Quantity>,
): { charge: Charge } | { reason: string } {
  const reason = precheck(quota, kind, obj);
  if (reason !== undefined) return { reason };
  const charge: Charge = {};
  if (!covers(quota, kind, obj)) return { charge };
  const hard: Record<string, string> = quota.status?.hard ?? {};
  for (const [resource, q] of delta) if (hard[resource] !== undefined) charge[resource] = q.toString();
  if (Object.keys(charge).length === 0) return { charge };
  const name = String(quota.metadata?.name ?? "");
  const exceeded = checkQuota({ name, hard, used: quota.status?.used ?? {} }, charge);
  return exceeded === undefined ? { charge } : { reason: exceeded };
}

function addUsage(used: Record<string, string>, charge: Charge, sign: 1 | -1): Record<string, string> {
  const out = { ...used };
  for (const [resource, value] of Object.entries(charge)) {
    const current = Quantity.parse(out[resource] ?? "0");
    const q = Quantity.parse(value);
    out[resource] = (sign === 1 ? current.add(q) : current.sub(q)).toString();
  }
  return out;
}

/**
 * Admits the create of `obj` against the quotas of its namespace and runs `create` (unless
 * dryRun); throws 403 Forbidden when a quota refuses it.
 */
export async function createWithinQuota(
  env: Env,
  def: ResourceDef,
  obj: KubeObject,
  dryRun: boolean,
  create: () => Promise<KubeObject>,
): Promise<KubeObject> {
  const namespace = obj.metadata?.namespace;
  const quotaDef = env.registry.lookup("", "v1", "resourcequotas");
  if (!def.namespaced || !namespace || ignored(def) || quotaDef === undefined) return dryRun ? obj : create();
  const quotas = (await env.store.list(quotaDef, { namespace, resourceVersion: "0" })).items;
  if (quotas.length === 0) return dryRun ? obj : create();
  const kind: ResourceKind = { group: def.group, version: def.version, resource: def.resource };
  const delta = new Map([...objectUsage(kind, obj)].filter(([, q]) => !q.isZero()));
  const objName = String(obj.metadata?.name || obj.metadata?.generateName || "");
  const deny = (reason: string) => forbidden({ group: def.group, resource: def.resource }, objName, reason);
  // The cached quotas give a quick answer; the charge below re-checks against the stored ones.
  const charged = new Map<string, Charge>();
  for (const quota of quotas) {
    const reason = precheck(quota, kind, obj);
    if (reason !== undefined) throw deny(reason);
  }
  for (const quota of quotas) {
    const verdict = evaluate(quota, kind, obj, delta);
    if ("reason" in verdict) throw deny(verdict.reason);
    if (Object.keys(verdict.charge).length > 0) charged.set(String(quota.metadata?.name), verdict.charge);
  }
  if (dryRun || charged.size === 0) return dryRun ? obj : create();
  const done: Array<[string, Charge]> = [];
  const refund = async () => {
    for (const [name, charge] of done)
      await env.store
        .guaranteedUpdate(quotaDef, namespace, name, (current) => {
          const next = deepClone(current);
          next.status = { ...next.status, used: addUsage(next.status?.used ?? {}, charge, -1) };
          return next;
        })
        .catch(() => {});
  };
  try {
    for (const name of charged.keys()) {
      let charge: Charge = {};
      try {
        await env.store.guaranteedUpdate(quotaDef, namespace, name, (current) => {
          const verdict = evaluate(current, kind, obj, delta);
          if ("reason" in verdict) throw deny(verdict.reason);
          charge = verdict.charge;
          const next = deepClone(current);
          next.status = { ...next.status, used: addUsage(next.status?.used ?? {}, charge, 1) };
          return next;
        });
      } catch (err) {
        // A quota deleted since the list limits nothing any more.
        if ((err as { code?: number }).code === 404) continue;
        throw err;
      }
      done.push([name, charge]);
    }
    return await create();
  } catch (err) {
    await refund();
    throw err;
  }
}
