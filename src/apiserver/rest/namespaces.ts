// Namespaces' own lifecycle, as pkg/registry/core/namespace/storage: the first delete only marks
// the namespace Terminating (the namespace controller empties it, then removes its spec.finalizers
// through /finalize, which deletes it); the namespaces the system needs may not be deleted.
import { deepClone, forbidden } from "../../api/index.js";
import type { ResourceDef } from "../types.js";
import { type Env, rfc3339, withType } from "./context.js";
import {
  checkPreconditions,
  type DeleteOptions,
  type DeleteResult,
  withPropagationFinalizers,
} from "./delete.js";

const immortal = new Set(["default", "kube-system", "kube-public"]);

export function isNamespaces(def: ResourceDef): boolean {
  return def.group === "" && def.resource === "namespaces";
}

function checkNamespaceDeletable(name: string): void {
  if (immortal.has(name)) throw forbidden("namespaces", name, "this namespace may not be deleted");
}

export async function deleteNamespace(
  env: Env,
  def: ResourceDef,
  name: string,
  o: DeleteOptions,
): Promise<DeleteResult> {
  checkNamespaceDeletable(name);
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = withType(def, await env.store.get(def, undefined, name));
    checkPreconditions(def, name, current, o.preconditions);
    const m = current.metadata ?? {};
    try {
      if (!m.deletionTimestamp) {
        const obj = deepClone(current);
        obj.metadata = { ...obj.metadata, deletionTimestamp: rfc3339(env.now()) };
        const finalizers = withPropagationFinalizers(m.finalizers ?? [], o.propagationPolicy);
        if (finalizers.length > 0) obj.metadata.finalizers = finalizers;
        else delete obj.metadata.finalizers;
        obj.status = { ...(obj.status ?? {}), phase: "Terminating" };
        if (o.dryRun) return { obj, deleted: false };
        return { obj: withType(def, await env.store.update(def, obj)), deleted: false };
      }
      if ((current.spec?.finalizers ?? []).length > 0 || (m.finalizers ?? []).length > 0)
        return { obj: current, deleted: false };
      if (o.dryRun) return { obj: current, deleted: true };
      const last = await env.store.delete(def, undefined, name, {
        uid: m.uid,
        resourceVersion: m.resourceVersion,
      });
      return { obj: withType(def, last), deleted: true };
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  return { obj: withType(def, await env.store.get(def, undefined, name)), deleted: false };
}
