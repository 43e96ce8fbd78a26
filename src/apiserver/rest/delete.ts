// delete and deletecollection with the generic registry's semantics: preconditions, graceful
// deletion of pods, finalizers (objects stay, marked with deletionTimestamp, until the last one is
// removed), and propagationPolicy kept as the orphan/foregroundDeletion finalizers for the garbage
// collector. Namespaces have their own flow (namespaces.ts).
import {
  conflict,
  deepClone,
  deepEqual,
  type FieldError,
  fieldErrors,
  type KubeObject,
} from "../../api/index.js";
import type { ResourceDef } from "../types.js";
import { apiVersionOf, type Call, type Env, rfc3339, withType } from "./context.js";
import { dryRunOf, optionsInvalid } from "./options.js";
import { checkSelectors, writeOne } from "./read.js";
import { successStatus, writeBody } from "./respond.js";

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun: boolean;
}

/** Resources whose delete answers with the object rather than a Status (ReturnDeletedObject). */
const returnsDeletedObject = new Set(["pods", "services", "serviceaccounts", "namespaces"]);

/** DeleteOptions from the query and, when present, the body (which wins). */
export function deleteOptionsOf(
  q: URLSearchParams,
  body: Record<string, unknown> | undefined,
): DeleteOptions {
  const errs: FieldError[] = [];
  const src: Record<string, unknown> = {};
  const grace = q.get("gracePeriodSeconds");
  if (grace !== null && grace !== "") src.gracePeriodSeconds = Number(grace);
  const policy = q.get("propagationPolicy");
  if (policy !== null && policy !== "") src.propagationPolicy = policy;
  const orphan = q.get("orphanDependents");
  if (orphan !== null && orphan !== "") src.orphanDependents = orphan === "true";
  if (body) {
    for (const k of ["gracePeriodSeconds", "propagationPolicy", "orphanDependents", "preconditions"])
      if (body[k] !== undefined && body[k] !== null) src[k] = body[k];
  }
  const out: DeleteOptions = { dryRun: dryRunOf(q, "DeleteOptions", body?.dryRun) };
  if (src.gracePeriodSeconds !== undefined) {
    const g = src.gracePeriodSeconds;
    if (typeof g !== "number" || !Number.isInteger(g))
      errs.push(fieldErrors.invalid("gracePeriodSeconds", g, "must be an integer"));
    else out.gracePeriodSeconds = g;
  }
  let p = src.propagationPolicy;
  if (p !== undefined) {
    if (p !== "Foreground" && p !== "Background" && p !== "Orphan")
      errs.push(
        fieldErrors.notSupported("propagationPolicy", p, ["Foreground", "Background", "Orphan", "nil"]),
      );
    if (src.orphanDependents !== undefined)
      errs.push(
        fieldErrors.invalid(
          "propagationPolicy",
          p,
          "orphanDependents and deletionPropagation cannot be both set",
        ),
      );
  } else if (src.orphanDependents !== undefined) {
    p = src.orphanDependents === true ? "Orphan" : "Background";
  }
  if (p === "Foreground" || p === "Background" || p === "Orphan") out.propagationPolicy = p;
  if (src.preconditions !== undefined) {
    const given = src.preconditions;
    if (given === null || typeof given !== "object" || Array.isArray(given))
      errs.push(fieldErrors.invalid("preconditions", src.preconditions, "must be an object"));
    else {
      const pc = src.preconditions as Record<string, unknown>;
      out.preconditions = {};
      if (typeof pc.uid === "string" && pc.uid !== "") out.preconditions.uid = pc.uid;
      if (typeof pc.resourceVersion === "string" && pc.resourceVersion !== "")
        out.preconditions.resourceVersion = pc.resourceVersion;
    }
  }
  if (errs.length > 0) throw optionsInvalid("DeleteOptions", errs);
  return out;
}

export function checkPreconditions(
  def: ResourceDef,
  name: string,
  obj: KubeObject,
  pc: DeleteOptions["preconditions"],
) {
  const gr = { group: def.group, resource: def.resource };
  const m = obj.metadata ?? {};
  if (pc?.uid && pc.uid !== m.uid)
    throw conflict(
      gr,
      name,
      `Precondition failed: UID in precondition: ${pc.uid}, UID in object meta: ${m.uid ?? ""}`,
    );
  if (pc?.resourceVersion && pc.resourceVersion !== m.resourceVersion)
    throw conflict(
      gr,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pc.resourceVersion}, ResourceVersion in object meta: ${m.resourceVersion ?? ""}`,
    );
}

/** The pod strategy's grace period: 0 for unscheduled or finished pods. */
function podGracePeriod(pod: KubeObject, requested: number | undefined): number {
  let period = requested ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  if (typeof period !== "number") period = 30;
  if (!pod.spec?.nodeName) period = 0;
  const phase = pod.status?.phase;
  if (phase === "Failed" || phase === "Succeeded") period = 0;
  return period < 0 ? 1 : period;
}

export function withPropagationFinalizers(
  finalizers: string[],
  policy: DeleteOptions["propagationPolicy"],
): string[] {
  const out = finalizers.filter((f) => {
    if (policy === "Orphan") return f !== "foregroundDeletion";
    if (policy === "Foreground") return f !== "orphan";
    if (policy === "Background") return f !== "orphan" && f !== "foregroundDeletion";
    return true;
  });
  const add = policy === "Orphan" ? "orphan" : policy === "Foreground" ? "foregroundDeletion" : undefined;
  if (add !== undefined && !out.includes(add)) out.push(add);
  return out;
}

type Plan = { kind: "delete" } | { kind: "keep"; obj: KubeObject };

/** BeforeDelete plus updateForGracefulDeletionAndFinalizers: what a delete does to `current`. */
function planDeletion(env: Env, def: ResourceDef, current: KubeObject, o: DeleteOptions): Plan {
  const obj = deepClone(current);
  const m = (obj.metadata ??= {});
  const now = env.now();
  const finalizers = withPropagationFinalizers(m.finalizers ?? [], o.propagationPolicy);
  if (finalizers.length > 0) m.finalizers = finalizers;
  else delete m.finalizers;
  let graceful = false;
  if (def.group === "" && def.resource === "pods") {
    const period = podGracePeriod(current, o.gracePeriodSeconds);
    const pendingGrace = m.deletionGracePeriodSeconds;
    if (m.deletionTimestamp && pendingGrace !== undefined && pendingGrace > 0 && period > 0) {
      // Already terminating: a delete may only shorten the grace period.
      if (period < pendingGrace) {
        const requestedAt = Date.parse(m.deletionTimestamp) - pendingGrace * 1000;
        m.deletionTimestamp = rfc3339(new Date(requestedAt + period * 1000));
        m.deletionGracePeriodSeconds = period;
      }
      return { kind: "keep", obj };
    }
    if (period > 0 && !m.deletionTimestamp) {
      graceful = true;
      m.deletionTimestamp = rfc3339(new Date(now.getTime() + period * 1000));
      m.deletionGracePeriodSeconds = period;
    }
  }
  if (graceful) return { kind: "keep", obj };
  if (finalizers.length > 0) {
    m.deletionTimestamp ??= rfc3339(now);
    m.deletionGracePeriodSeconds = 0;
    return { kind: "keep", obj };
  }
  return { kind: "delete" };
}

export interface DeleteResult {
  obj: KubeObject;
  deleted: boolean;
}

/** Deletes (or marks for deletion) one object; retries when it changes underneath. */
export async function deleteOne(
  env: Env,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
  o: DeleteOptions,
): Promise<DeleteResult> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = withType(def, await env.store.get(def, namespace, name));
    checkPreconditions(def, name, current, o.preconditions);
    const plan = planDeletion(env, def, current, o);
    try {
      if (plan.kind === "keep") {
        if (o.dryRun || deepEqual(plan.obj, current)) return { obj: plan.obj, deleted: false };
        return { obj: withType(def, await env.store.update(def, plan.obj)), deleted: false };
      }
      if (o.dryRun) return { obj: current, deleted: true };
      const last = await env.store.delete(def, namespace, name, {
        uid: current.metadata?.uid,
        resourceVersion: current.metadata?.resourceVersion,
      });
      return { obj: withType(def, last), deleted: true };
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  throw conflict({ group: def.group, resource: def.resource }, name);
}

/** The delete response: the object while it stays (or for kinds that return it), else a Success Status. */
export function writeDeleteResult(env: Env, call: Call, r: DeleteResult): void {
  const { def } = call.rr;
  if (!r.deleted || returnsDeletedObject.has(def.resource)) {
    writeOne(env, call, 200, r.obj);
    return;
  }
  const details: Record<string, string> = { name: r.obj.metadata?.name ?? "" };
  if (def.group !== "") details.group = def.group;
  details.kind = def.resource;
  if (r.obj.metadata?.uid) details.uid = r.obj.metadata.uid;
  writeBody(call.res, 200, successStatus(undefined, details));
}

export async function deleteCollection(env: Env, call: Call, o: DeleteOptions): Promise<void> {
  const { def, namespace, query } = call.rr;
  checkSelectors(def, query);
  const label = query.get("labelSelector");
  const field = query.get("fieldSelector");
  const list = await env.store.list(def, {
    namespace,
    ...(label ? { labelSelector: label } : {}),
    ...(field ? { fieldSelector: field } : {}),
  });
  const items: KubeObject[] = [];
  for (const item of list.items) {
    try {
      items.push((await deleteOne(env, def, item.metadata?.namespace, item.metadata?.name ?? "", o)).obj);
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }
  writeBody(call.res, 200, {
    kind: def.listKind,
    apiVersion: apiVersionOf(def),
    metadata: { resourceVersion: list.resourceVersion },
    items,
  });
}
