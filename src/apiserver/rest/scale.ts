// The scale subresource of deployments, replicasets and statefulsets: autoscaling/v1 Scale on
// GET, PUT and PATCH (json, merge and strategic merge), writing spec.replicas of the parent.
import {
  conflict,
  deepClone,
  fieldErrors,
  invalid,
  isObject,
  type KubeObject,
  labelSelectorFromMeta,
  schemaFor,
  unsupportedMediaType,
} from "../../api/index.js";
import { decodeObjectBody, mediaTypeOf, parseJson } from "./body.js";
import { type Call, type Env, withType } from "./context.js";
import { dryRunOf, managerOf } from "./options.js";
import { applyPatchDocument, jsonPatchType, mergePatchType, strategicPatchType } from "./patch.js";
import { negotiate, writeBody } from "./respond.js";
import { checkName, checkTypeMeta, commitUpdate, prepareUpdate } from "./write.js";

const scaleApiVersion = "autoscaling/v1";

function selectorString(selector: unknown): string {
  if (!isObject(selector)) return "";
  try {
    return labelSelectorFromMeta(selector).toString();
  } catch {
    return "";
  }
}

export function toScale(obj: KubeObject): KubeObject {
  const m = obj.metadata ?? {};
  const metadata: Record<string, unknown> = { name: m.name };
  if (m.namespace) metadata.namespace = m.namespace;
  metadata.uid = m.uid;
  metadata.resourceVersion = m.resourceVersion;
  metadata.creationTimestamp = m.creationTimestamp;
  const status: Record<string, unknown> = { replicas: obj.status?.replicas ?? 0 };
  const selector = selectorString(obj.spec?.selector);
  if (selector !== "") status.selector = selector;
  return {
    kind: "Scale",
    apiVersion: scaleApiVersion,
    metadata,
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status,
  };
}

export async function getScale(env: Env, call: Call): Promise<void> {
  const { rr } = call;
  negotiate(call.req.headers.accept);
  const obj = await env.store.get(rr.def, rr.namespace, rr.name!);
  writeBody(call.res, 200, toScale(obj));
}

/** Validates a Scale from a client and writes its replicas to the parent. */
async function writeScale(
  env: Env,
  call: Call,
  dryRun: boolean,
  scaleOf: (current: KubeObject) => KubeObject,
) {
  const { rr, req } = call;
  const wo = { dryRun, manager: managerOf(rr.query, req, "UpdateOptions") };
  const updated = await commitUpdate(env, call, dryRun, async (current) => {
    const scale = scaleOf(current);
    checkTypeMeta(rr.def, scale, "Scale", scaleApiVersion);
    checkName(call, scale);
    const rv = scale.metadata?.resourceVersion;
    if (rv && rv !== current.metadata?.resourceVersion)
      throw conflict({ group: rr.def.group, resource: rr.def.resource }, rr.name!);
    const replicas = scale.spec?.replicas ?? 0;
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
      throw invalid({ group: "autoscaling", kind: "Scale" }, rr.name!, [
        fieldErrors.invalid("spec.replicas", replicas, "must be greater than or equal to 0"),
      ]);
    const next = deepClone(current);
    next.spec = { ...(next.spec ?? {}), replicas };
    return prepareUpdate(env, call, current, next, wo);
  });
  writeBody(call.res, 200, toScale(withType(rr.def, updated)));
}

export async function updateScale(env: Env, call: Call, body: Buffer): Promise<void> {
  negotiate(call.req.headers.accept);
  const scale = decodeObjectBody(call.req.headers["content-type"], body) as KubeObject;
  await writeScale(env, call, dryRunOf(call.rr.query, "UpdateOptions"), () => deepClone(scale));
}

export async function patchScale(env: Env, call: Call, body: Buffer): Promise<void> {
  negotiate(call.req.headers.accept);
  const type = mediaTypeOf(call.req.headers["content-type"]);
  const accepted = [jsonPatchType, mergePatchType, strategicPatchType];
  if (!accepted.includes(type)) throw unsupportedMediaType(accepted);
  const patch = parseJson(body.toString("utf8"));
  const schema = schemaFor(scaleApiVersion, "Scale");
  await writeScale(env, call, dryRunOf(call.rr.query, "PatchOptions"), (current) =>
    applyPatchDocument(type, toScale(current), patch, schema),
  );
}
