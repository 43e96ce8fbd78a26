// get, list and watch. List options are validated as upstream's ValidateListOptions does; selectors
// are checked here so a bad one is a 400 before the store is asked.
import {
  badRequest,
  checkSupportedFields,
  type FieldError,
  fieldErrors,
  invalid,
  type KubeObject,
  parseFieldSelector,
  parseLabelSelector,
  type StatusError,
  type WatchEvent,
} from "../../api/index.js";
import type { ListOptions, ResourceDef } from "../types.js";
import { apiVersionOf, type Call, type Env, withType } from "./context.js";
import {
  asTable,
  includeObjectOf,
  negotiate,
  partialMetadata,
  statusErrorFromTarget,
  writeBody,
} from "./respond.js";
import { encodeJsonEvent, WatchResponseWriter } from "./watch-stream.js";

export async function getObject(env: Env, call: Call): Promise<void> {
  const { rr } = call;
  const target = negotiate(call.req.headers.accept);
  const obj = withType(rr.def, await env.store.get(rr.def, rr.namespace, rr.name!));
  writeOne(env, call, 200, obj, target);
}

/** Writes one object in the negotiated form. */
export function writeOne(
  env: Env,
  call: Call,
  code: number,
  obj: KubeObject,
  target = negotiate(call.req.headers.accept),
): void {
  const { rr, res } = call;
  if (target.kind === "PartialObjectMetadataList")
    throw statusErrorFromTarget(target, "the requested object is not a list");
  if (target.kind !== "Table") {
    writeBody(res, code, target.kind === "object" ? obj : partialMetadata(obj, target.version), target);
    return;
  }
  const table = asTable(
    rr.def,
    [obj],
    { resourceVersion: obj.metadata?.resourceVersion ?? "" },
    { version: target.version, include: includeObjectOf(rr.query), noHeaders: false, now: env.now() },
  );
  writeBody(res, code, table);
}

function boolParam(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (v === "" || v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}: must be a boolean`);
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

export function isWatch(q: URLSearchParams): boolean {
  return boolParam(q, "watch") === true;
}

export function checkSelectors(def: ResourceDef, q: URLSearchParams): void {
  try {
    parseLabelSelector(q.get("labelSelector") ?? "");
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  try {
    checkSupportedFields(parseFieldSelector(q.get("fieldSelector") ?? ""), def.fields?.supported);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

function listOptionsInvalid(errs: FieldError[]): StatusError {
  return invalid({ group: "meta.k8s.io", kind: "ListOptions" }, "", errs);
}

/** Upstream's ValidateListOptions (watch branch included); WatchList is served. */
function validateListOptions(q: URLSearchParams, watch: boolean): void {
  const rv = q.get("resourceVersion") ?? "";
  const match = q.get("resourceVersionMatch") ?? "";
  const sendInitial = boolParam(q, "sendInitialEvents");
  const errs: FieldError[] = [];
  if (watch) {
    if (sendInitial !== undefined && match !== "NotOlderThan")
      errs.push(
        fieldErrors.forbidden(
          "resourceVersionMatch",
          "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ),
      );
    if (match !== "") {
      if (sendInitial === undefined)
        errs.push(
          fieldErrors.forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
          ),
        );
      if (match !== "NotOlderThan")
        errs.push(fieldErrors.notSupported("resourceVersionMatch", match, ["NotOlderThan"]));
      if (boolParam(q, "allowWatchBookmarks") !== true)
        errs.push(
          fieldErrors.forbidden(
            "allowWatchBookmarks",
            "allowWatchBookmarks must be set to true when sendInitialEvents is provided",
          ),
        );
    }
  } else {
    if (match !== "") {
      if (rv === "")
        errs.push(
          fieldErrors.forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
          ),
        );
      if ((q.get("continue") ?? "") !== "")
        errs.push(
          fieldErrors.forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden when continue is provided",
          ),
        );
      if (match !== "Exact" && match !== "NotOlderThan")
        errs.push(fieldErrors.notSupported("resourceVersionMatch", match, ["Exact", "NotOlderThan", ""]));
      if (match === "Exact" && rv === "0")
        errs.push(
          fieldErrors.forbidden(
            "resourceVersionMatch",
            'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
          ),
        );
    }
    if (sendInitial !== undefined)
      errs.push(fieldErrors.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"));
  }
  if (errs.length > 0) throw listOptionsInvalid(errs);
}

export async function listObjects(env: Env, call: Call): Promise<void> {
  const { rr, res } = call;
  const q = rr.query;
  const target = negotiate(call.req.headers.accept);
  if (target.kind === "PartialObjectMetadata")
    throw statusErrorFromTarget(target, "the requested object is a list");
  validateListOptions(q, false);
  checkSelectors(rr.def, q);
  const limit = intParam(q, "limit");
  const opts: ListOptions = { namespace: rr.namespace };
  const label = q.get("labelSelector");
  const field = q.get("fieldSelector");
  const cont = q.get("continue");
  const rv = q.get("resourceVersion");
  const match = q.get("resourceVersionMatch");
  if (label) opts.labelSelector = label;
  if (field) opts.fieldSelector = field;
  if (limit !== undefined && limit > 0) opts.limit = limit;
  if (cont) opts.continue = cont;
  if (rv !== null) opts.resourceVersion = rv;
  if (match === "Exact" || match === "NotOlderThan") opts.resourceVersionMatch = match;
  const result = await env.store.list(rr.def, opts);
  const meta: Record<string, unknown> = { resourceVersion: result.resourceVersion };
  if (result.continue) meta.continue = result.continue;
  if (result.remainingItemCount !== undefined && result.remainingItemCount > 0)
    meta.remainingItemCount = result.remainingItemCount;
  const items = result.items.map((o) => withType(rr.def, o));
  if (target.kind === "Table") {
    const table = asTable(rr.def, items, meta, {
      version: target.version,
      include: includeObjectOf(q),
      noHeaders: false,
      now: env.now(),
    });
    return writeBody(res, 200, table);
  }
  if (target.kind === "PartialObjectMetadataList") {
    return writeBody(res, 200, {
      kind: "PartialObjectMetadataList",
      apiVersion: `meta.k8s.io/${target.version}`,
      metadata: meta,
      items: items.map((o) => partialMetadata(o, target.version)),
    });
  }
  writeBody(
    res,
    200,
    { kind: rr.def.listKind, apiVersion: apiVersionOf(rr.def), metadata: meta, items },
    target,
  );
}

const defaultWatchTimeoutSeconds = 30 * 60;
const maxUnsentWatchBytes = 16 * 1024 * 1024;

/** A chunked stream of `{"type":..,"object":..}` lines until timeoutSeconds, an ERROR, or the client leaves. */
export async function watchObjects(env: Env, call: Call): Promise<void> {
  const { rr, res, req } = call;
  const q = rr.query;
  const target = negotiate(req.headers.accept);
  if (target.kind === "PartialObjectMetadata")
    throw statusErrorFromTarget(target, "the requested object is a list");
  validateListOptions(q, true);
  checkSelectors(rr.def, q);
  const include = target.kind === "Table" ? includeObjectOf(q) : "Metadata";
  const timeout = intParam(q, "timeoutSeconds");
  const bookmarks = boolParam(q, "allowWatchBookmarks") === true;
  const sendInitial = boolParam(q, "sendInitialEvents");
  const label = q.get("labelSelector");
  const field = q.get("fieldSelector");
  let rv = q.get("resourceVersion") ?? "";
  // sendInitialEvents=false with no resourceVersion means "from now", without the synthetic ADDs.
  if (sendInitial === false && (rv === "" || rv === "0")) rv = await env.store.currentResourceVersion();
  const stream = await env.store.watch(rr.def, {
    namespace: rr.namespace,
    ...(label ? { labelSelector: label } : {}),
    ...(field ? { fieldSelector: field } : {}),
    resourceVersion: rv,
    allowWatchBookmarks: bookmarks,
    ...(sendInitial === true ? { sendInitialEvents: true } : {}),
  });
  // setTimeout holds at most 2^31-1 ms (about 24 days).
  const ms = Math.min(
    (timeout !== undefined && timeout > 0 ? timeout : defaultWatchTimeoutSeconds) * 1000,
    2 ** 31 - 1,
  );
  await new Promise<void>((resolve) => {
    let ended = false;
    let headers = true;
    // A client this far behind re-watches from its last resourceVersion, as after any stream end.
    const out = new WatchResponseWriter(res, maxUnsentWatchBytes, () => finish());
    const finish = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      stream.stop();
      out.close();
      if (!res.writableEnded) res.end();
      resolve();
    };
    const timer = setTimeout(finish, ms);
    req.on("close", finish);
    res.on("close", finish);
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    res.flushHeaders();
    stream.onEvent((event: WatchEvent<KubeObject>) => {
      if (ended) return;
      if (event.type === "BOOKMARK" && !bookmarks) return;
      if (target.kind === "object") {
        out.write(encodeJsonEvent(rr.def, event), event.type === "ERROR");
        if (event.type === "ERROR") finish();
        return;
      }
      let object: unknown = event.object;
      if (event.type !== "ERROR") {
        const obj = withType(rr.def, event.object as KubeObject);
        if (target.kind === "Table") {
          const rows = event.type === "BOOKMARK" ? [] : [obj];
          object = asTable(
            rr.def,
            rows,
            { resourceVersion: obj.metadata?.resourceVersion ?? "" },
            {
              version: target.version,
              include,
              noHeaders: !headers,
              now: env.now(),
            },
          );
          headers = false;
        } else if (target.kind === "PartialObjectMetadataList") {
          object = partialMetadata(obj, target.version);
        } else {
          object = obj;
        }
      }
      out.write(Buffer.from(`${JSON.stringify({ type: event.type, object })}\n`), event.type === "ERROR");
      if (event.type === "ERROR") finish();
    });
  });
}
