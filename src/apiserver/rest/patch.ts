// PATCH: JSON patch, merge patch, strategic merge patch (built-in kinds only) and server-side apply
// (which creates the object when it is absent, as upstream). Each is applied to the latest stored
// version inside the store's guaranteedUpdate, then goes through the update path.
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  badRequest,
  fieldErrors,
  isObject,
  type JsonObject,
  type JsonValue,
  type KubeObject,
  schemaFor,
  serverSideApply,
  type TypeSchema,
  unsupportedMediaType,
} from "../../api/index.js";
import { mediaTypeOf, parseJson, parseYaml } from "./body.js";
import { apiVersionOf, type Call, type Env, rfc3339 } from "./context.js";
import { checkApplyFields, checkPatchedFields } from "./field-validation.js";
import { dryRunOf, managerOf, optionsInvalid } from "./options.js";
import { writeOne } from "./read.js";
import {
  commitUpdate,
  ignoredFieldsOf,
  prepareCreate,
  prepareUpdate,
  storeCreate,
  withServiceLock,
} from "./write.js";

export const jsonPatchType = "application/json-patch+json";
export const mergePatchType = "application/merge-patch+json";
export const strategicPatchType = "application/strategic-merge-patch+json";
export const applyPatchType = "application/apply-patch+yaml";

/** The patch types an endpoint takes; strategic merge needs the kind's merge metadata. */
export function patchTypesFor(schema: TypeSchema | undefined): string[] {
  return schema
    ? [jsonPatchType, mergePatchType, strategicPatchType, applyPatchType]
    : [jsonPatchType, mergePatchType, applyPatchType];
}

function boolQuery(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === "" || v === "true" || v === "1";
}

/** Applies a non-apply patch document to `current`; the result must still be an object. */
export function applyPatchDocument(
  type: string,
  current: KubeObject,
  patch: JsonValue,
  schema: TypeSchema | undefined,
): KubeObject {
  let out: JsonValue;
  if (type === jsonPatchType) out = applyJsonPatch(current as JsonObject, patch);
  else if (type === mergePatchType) out = applyMergePatch(current as JsonObject, patch);
  else out = applyStrategicMergePatch(current as JsonObject, patch, schema!);
  if (!isObject(out)) throw badRequest("the patched object is not a JSON object");
  return out as KubeObject;
}

export async function patchObject(env: Env, call: Call, body: Buffer): Promise<void> {
  const { rr, req } = call;
  const q = rr.query;
  const type = mediaTypeOf(req.headers["content-type"]);
  const schema = schemaFor(apiVersionOf(rr.def), rr.def.kind);
  const accepted = patchTypesFor(schema);
  if (!accepted.includes(type)) throw unsupportedMediaType(accepted);
  const dryRun = dryRunOf(q, "PatchOptions");
  if (type === applyPatchType) {
    call.metricVerb = "APPLY";
    return applyObject(env, call, body, dryRun, schema);
  }
  if (q.has("force"))
    throw optionsInvalid("PatchOptions", [
      fieldErrors.forbidden("force", "may not be specified for non-apply patch"),
    ]);
  const patch = parseJson(body.toString("utf8"));
  const wo = { dryRun, manager: managerOf(q, req, "PatchOptions") };
  const updated = await commitUpdate(env, call, dryRun, (current) =>
    prepareUpdate(
      env,
      call,
      current,
      checkPatchedFields(call, current, applyPatchDocument(type, current, patch, schema)),
      wo,
    ),
  );
  writeOne(env, call, 200, updated);
}

function isThisObjectMissing(err: unknown, call: Call): boolean {
  const status = (
    err as { status?: { code?: number; reason?: string; details?: { kind?: string; name?: string } } }
  ).status;
  return (
    status?.code === 404 &&
    status.reason === "NotFound" &&
    status.details?.kind === call.rr.def.resource &&
    status.details?.name === call.rr.name
  );
}

async function applyObject(
  env: Env,
  call: Call,
  body: Buffer,
  dryRun: boolean,
  schema: TypeSchema | undefined,
): Promise<void> {
  const { rr } = call;
  const manager = rr.query.get("fieldManager") ?? "";
  if (manager === "")
    throw optionsInvalid("PatchOptions", [
      fieldErrors.required("fieldManager", "is required for apply patch"),
    ]);
  const config = parseYaml(body.toString("utf8"));
  if (!isObject(config)) throw badRequest("error decoding YAML: the apply configuration must be an object");
  if (
    typeof config.apiVersion !== "string" ||
    config.apiVersion === "" ||
    typeof config.kind !== "string" ||
    config.kind === ""
  )
    throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(config).slice(0, 200)}'`);
  if (!isObject(config.metadata)) config.metadata = {};
  checkApplyFields(call, config as KubeObject);
  const meta = config.metadata as JsonObject;
  if (meta.name === undefined || meta.name === "") meta.name = rr.name ?? "";
  const opts = {
    manager,
    apiVersion: apiVersionOf(rr.def),
    now: rfc3339(env.now()),
    schema,
    force: boolQuery(rr.query, "force"),
    ignoredFields: ignoredFieldsOf(rr.def, rr.subresource),
    ...(rr.subresource ? { subresource: rr.subresource } : {}),
  };
  const wo = { dryRun, manager, applied: true };
  try {
    const updated = await commitUpdate(env, call, dryRun, (current) =>
      prepareUpdate(env, call, current, serverSideApply(current, config as KubeObject, opts), wo),
    );
    return writeOne(env, call, 200, updated);
  } catch (err) {
    if (rr.subresource !== undefined || !isThisObjectMissing(err, call)) throw err;
  }
  const created = await withServiceLock(env, rr.def, async () => {
    const applied = serverSideApply(undefined, config as KubeObject, opts);
    return storeCreate(env, call, await prepareCreate(env, call, applied, wo), dryRun);
  });
  writeOne(env, call, 201, created);
}
