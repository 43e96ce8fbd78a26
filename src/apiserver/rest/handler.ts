// createRestHandler: routes /api and /apis resource requests to the verb handlers, authorizes them,
// turns every failure into a Status reply, and reports each request for the apiserver metrics.
import type { IncomingMessage, ServerResponse } from "node:http";
import { forbidden, internalError, type KubeObject, makeStatus, StatusError } from "../../api/index.js";
import type { UserInfo } from "../types.js";
import { decodeObjectBody, defaultMaxBodyBytes, readBody } from "./body.js";
import type { Call, Env, RequestRecord, ResourceRequest, RestOptions } from "./context.js";
import { deleteCollection, deleteOne, deleteOptionsOf, writeDeleteResult } from "./delete.js";
import { checkBodyFields } from "./field-validation.js";
import { deleteNamespace, isNamespaces } from "./namespaces.js";
import { patchObject } from "./patch.js";
import { bindPod, evictPod, podLogs } from "./pods.js";
import { getObject, isWatch, listObjects, watchObjects } from "./read.js";
import { writeStatus } from "./respond.js";
import { notFoundPath, parseResourcePath } from "./route.js";
import { getScale, patchScale, updateScale } from "./scale.js";
import { createObject, updateObject } from "./write.js";

type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

/** What a request does; writes get the request body (read with the size limit) when `body` is set. */
interface Route {
  verb: Verb;
  metricVerb: string;
  body: boolean;
  run(env: Env, call: Call, body: Buffer): Promise<void>;
}

const read = (verb: Verb, metricVerb: string, run: Route["run"]): Route => ({
  verb,
  metricVerb,
  body: false,
  run,
});
const write = (verb: Verb, metricVerb: string, run: Route["run"]): Route => ({
  verb,
  metricVerb,
  body: true,
  run,
});

function methodNotAllowed(): StatusError {
  return new StatusError(
    makeStatus(
      405,
      "MethodNotAllowed",
      "the server does not allow this method on the requested resource",
      {},
    ),
  );
}

function mutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** Picks the handler for a method on a resource path. */
function route(method: string, rr: ResourceRequest, watchPrefix: boolean): Route {
  const { name, subresource: sub } = rr;
  const q = rr.query;
  if (method === "GET" || method === "HEAD") {
    if (name === undefined)
      return watchPrefix || isWatch(q)
        ? read("watch", "WATCH", watchObjects)
        : read("list", "LIST", listObjects);
    if (sub === undefined && (watchPrefix || isWatch(q))) {
      // A watch of one object is a watch of the collection narrowed to its name.
      const field = q.get("fieldSelector");
      q.set("fieldSelector", field ? `${field},metadata.name=${name}` : `metadata.name=${name}`);
      rr.name = undefined;
      return read("watch", "WATCH", watchObjects);
    }
    if (sub === undefined || sub === "status") return read("get", "GET", getObject);
    if (sub === "scale") return read("get", "GET", getScale);
    if (sub === "log") return read("get", "GET", podLogs);
    throw methodNotAllowed();
  }
  // Writes to a namespaced collection need its namespace (upstream serves no such route).
  if (name === undefined && rr.def.namespaced && rr.namespace === undefined) throw methodNotAllowed();
  if (method === "POST") {
    if (name === undefined) return write("create", "POST", createRun);
    if (sub === "binding") return write("create", "POST", bindPod);
    if (sub === "eviction") return write("create", "POST", evictPod);
    throw methodNotAllowed();
  }
  if (name === undefined) {
    if (method === "DELETE") return write("deletecollection", "DELETECOLLECTION", deleteRun);
    throw methodNotAllowed();
  }
  if (method === "PUT") {
    if (sub === undefined || sub === "status" || sub === "finalize") return write("update", "PUT", updateRun);
    if (sub === "scale") return write("update", "PUT", updateScale);
    throw methodNotAllowed();
  }
  if (method === "PATCH") {
    if (sub === undefined || sub === "status") return write("patch", "PATCH", patchObject);
    if (sub === "scale") return write("patch", "PATCH", patchScale);
    throw methodNotAllowed();
  }
  if (method === "DELETE" && sub === undefined) return write("delete", "DELETE", deleteRun);
  throw methodNotAllowed();
}

async function createRun(env: Env, call: Call, body: Buffer): Promise<void> {
  const obj = decodeObjectBody(call.req.headers["content-type"], body) as KubeObject;
  await createObject(env, call, checkBodyFields(call, body, obj, "CreateOptions"));
}

async function updateRun(env: Env, call: Call, body: Buffer): Promise<void> {
  const obj = decodeObjectBody(call.req.headers["content-type"], body) as KubeObject;
  await updateObject(env, call, checkBodyFields(call, body, obj, "UpdateOptions"));
}

async function deleteRun(env: Env, call: Call, body: Buffer): Promise<void> {
  const { rr } = call;
  const opts = deleteOptionsOf(
    rr.query,
    body.length > 0 ? decodeObjectBody(call.req.headers["content-type"], body) : undefined,
  );
  if (rr.name === undefined) return deleteCollection(env, call, opts);
  const result = isNamespaces(rr.def)
    ? await deleteNamespace(env, rr.def, rr.name, opts)
    : await deleteOne(env, rr.def, rr.namespace, rr.name, opts);
  writeDeleteResult(env, call, result);
}

function deniedMessage(user: UserInfo, verb: string, rr: ResourceRequest): string {
  const resource = rr.subresource ? `${rr.resource}/${rr.subresource}` : rr.resource;
  const where = rr.namespace ? `in the namespace "${rr.namespace}"` : "at the cluster scope";
  return `User "${user.username}" cannot ${verb} resource "${resource}" in API group "${rr.group}" ${where}`;
}

export type RestHandler = (req: IncomingMessage, res: ServerResponse, user: UserInfo) => Promise<boolean>;

/**
 * The REST API for resources. Resolves to false when the path is not an /api or /apis resource
 * path (discovery and everything else belong to the server); otherwise it has answered.
 */
export function createRestHandler(opts: RestOptions): RestHandler {
  const env: Env = {
    opts,
    store: opts.store,
    registry: opts.registry,
    now: opts.now ?? (() => new Date()),
    random: opts.random ?? Math.random,
    maxBodyBytes: opts.maxBodyBytes ?? defaultMaxBodyBytes,
    serviceLock: mutex(),
  };
  return async (req, res, user) => {
    const started = process.hrtime.bigint();
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      return false;
    }
    const record: RequestRecord = {
      verb: (req.method ?? "GET").toUpperCase(),
      group: "",
      version: "",
      resource: "",
      subresource: "",
      scope: "cluster",
      code: 0,
      durationSeconds: 0,
    };
    let ours = true;
    let call: Call | undefined;
    try {
      const parsed = parseResourcePath(url.pathname, url.searchParams, env.registry);
      if (parsed === undefined) {
        ours = false;
        return false;
      }
      const rr = parsed.request!;
      Object.assign(record, {
        group: rr.group,
        version: rr.version,
        resource: rr.resource,
        subresource: rr.subresource ?? "",
      });
      record.scope =
        rr.name !== undefined ? "resource" : rr.namespace !== undefined ? "namespace" : "cluster";
      if (rr.def.namespaced && rr.name !== undefined && rr.namespace === undefined) throw notFoundPath();
      const r = route((req.method ?? "GET").toUpperCase(), rr, parsed.watchPrefix);
      call = { req, res, user, rr, metricVerb: r.metricVerb };
      if (rr.subresource === undefined && !rr.def.verbs.includes(r.verb)) throw methodNotAllowed();
      const decision = await opts.authorizer.authorize({
        user,
        verb: r.verb,
        gvr: { group: rr.group, version: rr.version, resource: rr.resource },
        ...(rr.subresource ? { subresource: rr.subresource } : {}),
        ...(rr.namespace ? { namespace: rr.namespace } : {}),
        ...(rr.name ? { name: rr.name } : {}),
      });
      if (!decision.allowed) {
        const reason = deniedMessage(user, r.verb, rr) + (decision.reason ? `: ${decision.reason}` : "");
        throw forbidden({ group: rr.group, resource: rr.resource }, rr.name ?? "", reason);
      }
      await r.run(env, call, r.body ? await readBody(req, env.maxBodyBytes) : Buffer.alloc(0));
    } catch (err) {
      const status =
        err instanceof StatusError
          ? err.status
          : internalError(err instanceof Error ? err : String(err)).status;
      if (status.code === 413 && !res.headersSent) res.setHeader("Connection", "close");
      writeStatus(res, status);
    } finally {
      // APPLY is known only once the patch handler has looked at the content type.
      if (call) record.verb = call.metricVerb;
      if (ours) report(record, res, started);
    }
    return true;
  };

  function report(record: RequestRecord, res: ServerResponse, started: bigint): void {
    record.code = res.statusCode;
    record.durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    try {
      opts.onRequest?.(record);
    } catch {
      // A metrics hook must not turn a served request into a failure.
    }
  }
}
