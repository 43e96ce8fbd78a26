// Status errors built exactly as apimachinery's api/errors (v0.32) builds them: same codes, reasons,
// details and message wording, so kubectl prints what it prints against a real cluster.

import type { Status, StatusCause, StatusDetails, StatusReason } from "./types.js";
import { aggregateMessage, type FieldError, goQuote, toStatusCause } from "./validation.js";

/** An error carrying the Status object the apiserver sends back. */
export class StatusError extends Error {
  readonly status: Status;

  constructor(status: Status) {
    super(status.message ?? "");
    this.name = "StatusError";
    this.status = status;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): StatusReason | undefined {
    return this.status.reason;
  }
}

export function isStatusError(err: unknown): err is StatusError {
  return err instanceof StatusError;
}

/** Group and resource (or kind); upstream prints `resource.group`, or just `resource` for the core group. */
export interface GroupResource {
  group?: string;
  resource: string;
}

function qualified(gr: GroupResource | string): { group: string; resource: string; text: string } {
  const g = typeof gr === "string" ? { resource: gr } : gr;
  const group = g.group ?? "";
  return { group, resource: g.resource, text: group === "" ? g.resource : `${g.resource}.${group}` };
}

/** Builds a Status with upstream's JSON key order: kind, apiVersion, metadata, status, message, reason, details, code. */
export function makeStatus(
  code: number,
  reason: StatusReason | undefined,
  message: string,
  details?: StatusDetails,
): Status {
  const ordered: Record<string, unknown> = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
  };
  if (message !== "") ordered.message = message;
  if (reason !== undefined) ordered.reason = reason;
  if (details !== undefined) ordered.details = compactDetails(details);
  ordered.code = code;
  return ordered as unknown as Status;
}

function compactDetails(d: StatusDetails): StatusDetails {
  const out: StatusDetails = {};
  if (d.name) out.name = d.name;
  if (d.group) out.group = d.group;
  if (d.kind) out.kind = d.kind;
  if (d.uid) out.uid = d.uid;
  if (d.causes && d.causes.length > 0) out.causes = d.causes;
  if (d.retryAfterSeconds) out.retryAfterSeconds = d.retryAfterSeconds;
  return out;
}

function fail(code: number, reason: StatusReason | undefined, message: string, details?: StatusDetails) {
  return new StatusError(makeStatus(code, reason, message, details));
}

export function notFound(gr: GroupResource | string, name: string): StatusError {
  const q = qualified(gr);
  return fail(404, "NotFound", `${q.text} ${goQuote(name)} not found`, {
    name,
    group: q.group,
    kind: q.resource,
  });
}

export function alreadyExists(gr: GroupResource | string, name: string): StatusError {
  const q = qualified(gr);
  return fail(409, "AlreadyExists", `${q.text} ${goQuote(name)} already exists`, {
    name,
    group: q.group,
    kind: q.resource,
  });
}

/** The optimistic-concurrency failure message upstream's storage layer attaches to a Conflict. */
export const optimisticLockErrorMsg =
  "the object has been modified; please apply your changes to the latest version and try again";

export function conflict(gr: GroupResource | string, name: string, cause: string = optimisticLockErrorMsg) {
  const q = qualified(gr);
  return fail(409, "Conflict", `Operation cannot be fulfilled on ${q.text} ${goQuote(name)}: ${cause}`, {
    name,
    group: q.group,
    kind: q.resource,
  });
}

export function applyConflict(causes: StatusCause[], message: string): StatusError {
  return fail(409, "Conflict", message, { causes });
}

/** Group and kind; upstream prints `Kind.group`, or just `Kind` for the core group. */
export interface GroupKind {
  group?: string;
  kind: string;
}

export function invalid(gk: GroupKind | string, name: string, errs: readonly FieldError[]): StatusError {
  const g = typeof gk === "string" ? { kind: gk } : gk;
  const group = g.group ?? "";
  const kindText = group === "" ? g.kind : `${g.kind}.${group}`;
  const head = `${kindText} ${goQuote(name)} is invalid`;
  const message = errs.length === 0 ? head : `${head}: ${aggregateMessage(errs)}`;
  return fail(422, "Invalid", message, {
    name,
    group,
    kind: g.kind,
    causes: errs.map(toStatusCause),
  });
}

export function badRequest(message: string): StatusError {
  return fail(400, "BadRequest", message);
}

export function unauthorized(message = ""): StatusError {
  return fail(401, "Unauthorized", message === "" ? "not authorized" : message);
}

export function forbidden(gr: GroupResource | string | null, name: string, reason: string): StatusError {
  const q = gr === null ? null : qualified(gr);
  let message: string;
  if (q === null || q.resource === "") message = `forbidden: ${reason}`;
  else if (name === "") message = `${q.text} is forbidden: ${reason}`;
  else message = `${q.text} ${goQuote(name)} is forbidden: ${reason}`;
  return fail(403, "Forbidden", message, { name, group: q?.group ?? "", kind: q?.resource ?? "" });
}

export function gone(message: string): StatusError {
  return fail(410, "Gone", message);
}

export function resourceExpired(message: string): StatusError {
  return fail(410, "Expired", message);
}

/** The watch-cache/etcd compaction answer: `too old resource version: 5 (100)`. */
export function tooOldResourceVersion(requested: number | string, oldest: number | string): StatusError {
  return resourceExpired(`too old resource version: ${requested} (${oldest})`);
}

export function requestEntityTooLarge(message: string): StatusError {
  return fail(413, "RequestEntityTooLarge", `Request entity too large: ${message}`);
}

/** Patch and body content types the endpoint accepts, as upstream lists them in the 415 message. */
export function unsupportedMediaType(accepted: readonly string[]): StatusError {
  return fail(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );
}

export function notAcceptable(accepted: readonly string[]): StatusError {
  return fail(406, "NotAcceptable", `only the following media types are accepted: ${accepted.join(", ")}`);
}

export function methodNotSupported(gr: GroupResource | string, action: string): StatusError {
  const q = qualified(gr);
  return fail(405, "MethodNotAllowed", `${action} is not supported on resources of kind ${goQuote(q.text)}`, {
    group: q.group,
    kind: q.resource,
  });
}

export function internalError(err: Error | string): StatusError {
  const msg = typeof err === "string" ? err : err.message;
  return fail(500, "InternalError", `Internal error occurred: ${msg}`, { causes: [{ message: msg }] });
}

/** What upstream sends for an error that is not a Status: code 500 with no reason. */
export function unknownError(err: Error | string): StatusError {
  return fail(500, undefined, typeof err === "string" ? err : err.message);
}

export function serviceUnavailable(message: string): StatusError {
  return fail(503, "ServiceUnavailable", message);
}

export function tooManyRequests(message: string, retryAfterSeconds = 0): StatusError {
  return fail(429, "TooManyRequests", message, { retryAfterSeconds });
}

export function timeout(message: string, retryAfterSeconds = 0): StatusError {
  return fail(504, "Timeout", `Timeout: ${message}`, { retryAfterSeconds });
}

export function serverTimeout(gr: GroupResource | string, operation: string, retryAfterSeconds = 0) {
  const q = qualified(gr);
  return fail(
    500,
    "ServerTimeout",
    `The ${operation} operation against ${q.text} could not be completed at this time, please try again.`,
    { name: operation, group: q.group, kind: q.resource, retryAfterSeconds },
  );
}

/**
 * Upstream's NewGenericServerResponse for 422 with no resource: the apiserver uses it when a JSON patch
 * cannot be applied. The message is upstream's fixed text; kite adds the concrete reason as a cause.
 */
export function unprocessablePatch(detail: string): StatusError {
  return fail(422, "Invalid", "the server rejected our request due to an error in our request", {
    causes: [{ message: detail }],
  });
}

/** Any thrown value as a StatusError: Status errors pass through, everything else is a 500. */
export function toStatusError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  if (err instanceof Error) return unknownError(err);
  return unknownError(String(err));
}
