// Query parameters shared by the write verbs: dryRun, fieldManager, force, and the options-kind
// errors upstream reports for them.
import type { IncomingMessage } from "node:http";
import { fieldErrors, invalid } from "../../api/index.js";

export type OptionsKind = "CreateOptions" | "UpdateOptions" | "PatchOptions" | "DeleteOptions";

export function optionsInvalid(kind: OptionsKind, errs: Parameters<typeof invalid>[2]) {
  return invalid({ group: "meta.k8s.io", kind }, "", errs);
}

/** dryRun=All (the only value upstream supports). */
export function dryRunOf(q: URLSearchParams, kind: OptionsKind, fromBody: unknown = undefined): boolean {
  const values = [...q.getAll("dryRun"), ...(Array.isArray(fromBody) ? fromBody.map(String) : [])];
  for (const v of values)
    if (v !== "All") throw optionsInvalid(kind, [fieldErrors.notSupported("dryRun", v, ["All"])]);
  return values.length > 0;
}

/** The fieldManager parameter, or upstream's default: the user agent up to its first '/'. */
export function managerOf(q: URLSearchParams, req: IncomingMessage, kind: OptionsKind): string {
  const given = q.get("fieldManager");
  if (given !== null && given !== "") {
    if (given.length > 128) throw optionsInvalid(kind, [fieldErrors.tooLong("fieldManager", 128)]);
    return given;
  }
  const ua = req.headers["user-agent"] ?? "";
  return ua.split("/")[0]!.slice(0, 128);
}
