// The storage layer's answers in upstream's words: precondition conflicts (wrapped in the
// StorageError text kubectl users see), expired lists and continue tokens, too-large versions,
// and etcd failures as 500s.
import {
  badRequest,
  conflict,
  type GroupResource,
  internalError,
  makeStatus,
  resourceExpired,
  StatusError,
} from "../../api/index.js";
import type { ResourceDef } from "../types.js";
import { isCompacted } from "./etcd-client.js";

export function groupResource(def: ResourceDef): GroupResource {
  return { group: def.group, resource: def.resource };
}

/** Upstream's StorageError text for ErrCodeInvalidObj (code 4), which a failed precondition carries. */
export function preconditionFailed(
  def: ResourceDef,
  name: string,
  key: string,
  what: "UID" | "ResourceVersion",
  want: string,
  have: string,
) {
  const detail = `Precondition failed: ${what} in precondition: ${want}, ${what} in object meta: ${have}`;
  return conflict(
    groupResource(def),
    name,
    `StorageError: invalid object, Code: 4, Key: ${key}, ResourceVersion: 0, AdditionalErrorMsg: ${detail}`,
  );
}

export const LIST_EXPIRED_MESSAGE = "The resourceVersion for the provided list is too old.";

export const CONTINUE_EXPIRED_MESSAGE =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.";

export const INCONSISTENT_CONTINUE_MESSAGE =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/** 410 for a compacted continue token; metadata.continue resumes at the latest revision (rv -1). */
export function continueExpired(newToken: string | undefined): StatusError {
  if (newToken === undefined) return resourceExpired(CONTINUE_EXPIRED_MESSAGE);
  const err = resourceExpired(INCONSISTENT_CONTINUE_MESSAGE);
  err.status.metadata.continue = newToken;
  return err;
}

/** 504 with the ResourceVersionTooLarge cause, as upstream's NewTooLargeResourceVersionError. */
export function tooLargeResourceVersion(wanted: number, current: number): StatusError {
  return new StatusError(
    makeStatus(504, "Timeout", `Timeout: Too large resource version: ${wanted}, current: ${current}`, {
      causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
      retryAfterSeconds: 1,
    }),
  );
}

/** Parses a resourceVersion parameter: "" -> undefined; otherwise a non-negative integer or 400. */
export function parseResourceVersion(rv: string | undefined): number | undefined {
  if (rv === undefined || rv === "") return undefined;
  if (!/^[0-9]+$/.test(rv) || !Number.isSafeInteger(Number(rv)))
    throw badRequest(`invalid resource version: ${JSON.stringify(rv)}: must be a non-negative integer`);
  return Number(rv);
}

/** Errors from etcd as Kubernetes errors: StatusErrors pass, compaction is 410, the rest 500. */
export function storageError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  if (isCompacted(err)) return resourceExpired(LIST_EXPIRED_MESSAGE);
  return internalError(err instanceof Error ? err : String(err));
}
