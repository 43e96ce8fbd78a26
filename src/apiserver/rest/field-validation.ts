// Server-side field validation (the fieldValidation query parameter of create, update and patch), as
// upstream: unknown fields (checked against src/apiserver/schemas, the types /openapi/v3 serves)
// and duplicate JSON fields are a 400 under Strict, Warning headers under Warn (the default when
// the parameter is absent), and nothing under Ignore; in every accepted write unknown fields are
// dropped, as upstream's typed decoding drops them. Protobuf bodies carry no such fields.
import type { FieldSchema, JsonValue, KubeObject, TypeSchema } from "../../api/index.js";
import { badRequest, fieldErrors, fieldOf, makeStatus, StatusError, schemaFor } from "../../api/index.js";
import {
  kindType,
  kindTypeName,
  pruneUnknownFields,
  unknownFieldPaths,
  unknownFields,
} from "../schemas/index.js";
import { mediaTypeOf } from "./body.js";
import type { Call } from "./context.js";
import { type OptionsKind, optionsInvalid } from "./options.js";

export type FieldValidation = "Ignore" | "Warn" | "Strict";

const DIRECTIVES = ["", "Ignore", "Strict", "Warn"];

/** The request's directive; an unsupported value is the options kind's 422, as upstream. */
export function fieldValidationOf(call: Call, kind: OptionsKind): FieldValidation {
  const v = call.rr.query.get("fieldValidation") ?? "";
  if (!DIRECTIVES.includes(v))
    throw optionsInvalid(kind, [fieldErrors.notSupported("fieldValidation", v, DIRECTIVES)]);
  return v === "" ? "Warn" : (v as FieldValidation);
}

/** Duplicate object keys in JSON text, as "duplicate field \"a.b\"" (JSON.parse keeps the last). */
export function duplicateFields(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string, depth: number): void => {
    ws();
    const c = text[i];
    if (depth > 200) throw new Error("too deep");
    if (c === "{") {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        const key = str();
        const here = path === "" ? key : `${path}.${key}`;
        if (seen.has(key)) out.push(`duplicate field "${here}"`);
        seen.add(key);
        ws();
        i++; // ':'
        value(here, depth + 1);
        ws();
        if (text[i++] === "}") return;
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`, depth + 1);
        ws();
        if (text[i++] === "]") return;
      }
    }
    if (c === '"') return void str();
    while (i < text.length && !",}] \t\r\n".includes(text[i]!)) i++;
  };
  try {
    value("", 0);
  } catch {
    return out; // the body parsed already: only a pathological one gets here; report what was found
  }
  return out;
}

/** Upstream's summarizeData: the body's first bytes, for messages about bodies without a kind. */
function summarize(body: Buffer): string {
  if (body.length === 0) return "<empty>";
  if (body[0] === 0x7b) return body.length > 30 ? `${body.subarray(0, 30).toString()} ...` : body.toString();
  return body.length > 30 ? `${body.subarray(0, 30).toString("hex")} ...` : body.toString("hex");
}

const warned = new WeakMap<Call, Set<string>>();
/** Upstream's recorder stops adding warnings past 4 KiB per response. */
const MAX_WARNING_BYTES = 4096;

function warn(call: Call, problems: string[]): void {
  let sent = warned.get(call);
  if (sent === undefined) warned.set(call, (sent = new Set()));
  for (const p of problems) {
    // Upstream drops warnings with control characters; the rest go out as UTF-8 bytes.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: that is what is being looked for
    if (sent.has(p) || call.res.headersSent || /[\x00-\x1f\x7f]/.test(p)) continue;
    sent.add(p);
    const size = [...sent].reduce((n, w) => n + w.length, 0);
    if (size > MAX_WARNING_BYTES) break;
    const quoted = `299 - "${p.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    call.res.appendHeader("Warning", Buffer.from(quoted, "utf8").toString("latin1"));
  }
}

function typeNameOf(call: Call): string | undefined {
  const { def } = call.rr;
  return kindType(def.group, def.version, def.kind)
    ? kindTypeName(def.group, def.version, def.kind)
    : undefined;
}

/** Checks a create or update body; returns it for chaining. */
export function checkBodyFields(call: Call, body: Buffer, obj: KubeObject, kind: OptionsKind): KubeObject {
  const directive = fieldValidationOf(call, kind);
  const typeName = typeNameOf(call);
  if (typeName === undefined) return obj;
  const mt = mediaTypeOf(call.req.headers["content-type"]);
  const problems =
    directive === "Ignore" || mt === "application/vnd.kubernetes.protobuf"
      ? []
      : [
          ...(mt === "application/yaml" ? [] : duplicateFields(body.toString("utf8"))),
          ...unknownFields(obj, typeName).map((p) => `unknown field "${p}"`),
        ];
  if (directive !== "Strict" || problems.length === 0) {
    warn(call, problems);
    pruneUnknownFields(obj, typeName);
    return obj;
  }
  const base = `strict decoding error: ${problems.join(", ")}`;
  const { def } = call.rr;
  if (typeof obj.kind === "string" && obj.kind !== "") {
    const version =
      String(obj.apiVersion ?? "")
        .split("/")
        .pop() ?? "";
    throw badRequest(`${obj.kind} in version "${version}" cannot be handled as a ${def.kind}: ${base}`);
  }
  throw badRequest(
    `the object provided is unrecognized (must be of type ${def.kind}): ${base} (${summarize(body)})`,
  );
}

/**
 * Checks the result of a JSON, merge or strategic merge patch. Only fields the patch brought in
 * count: unknown fields already stored (written by an older server) do not fail every later patch.
 */
export function checkPatchedFields(call: Call, current: KubeObject, patched: KubeObject): KubeObject {
  const directive = fieldValidationOf(call, "PatchOptions");
  const typeName = typeNameOf(call);
  if (typeName === undefined) return patched;
  const before = new Set(directive === "Ignore" ? [] : unknownFields(current as JsonValue, typeName));
  const problems =
    directive === "Ignore"
      ? []
      : unknownFields(patched, typeName)
          .filter((p) => !before.has(p))
          .map((p) => `unknown field "${p}"`);
  if (directive !== "Strict" || problems.length === 0) {
    warn(call, problems);
    pruneUnknownFields(patched, typeName);
    return patched;
  }
  throw badRequest(`strict decoding error: ${problems.join(", ")}`);
}

/** The merge-metadata field a path of field names (list elements already labelled) leads to. */
function fieldAt(root: TypeSchema | undefined, path: string[]): FieldSchema {
  let type = root;
  let field: FieldSchema = {};
  for (const seg of path) {
    field = fieldOf(type, seg.replace(/\[.*$/, ""));
    type = field.type;
  }
  return field;
}

/** structured-merge-diff's name of a list element: [k="v",...] in a map list, [="v"] in a set, [i]. */
function smdLabel(root: TypeSchema | undefined): (path: string[], el: unknown, i: number) => string {
  return (path, el, i) => {
    const f = fieldAt(root, path);
    if (f.listType === "map" && f.listMapKeys && el !== null && typeof el === "object") {
      const keys = f.listMapKeys.filter((k) => (el as Record<string, unknown>)[k] !== undefined);
      if (keys.length > 0)
        return `[${keys.map((k) => `${k}=${JSON.stringify((el as Record<string, unknown>)[k])}`).join(",")}]`;
    }
    if (f.listType === "set") return `[=${JSON.stringify(el)}]`;
    return `[${i}]`;
  };
}

/**
 * Server-side apply needs every field of the configuration in the schema whatever fieldValidation
 * says, and fails as structured-merge-diff does: a 500 with no reason, "Error from server: ...".
 */
export function checkApplyFields(call: Call, config: KubeObject): void {
  fieldValidationOf(call, "PatchOptions");
  const typeName = typeNameOf(call);
  if (typeName === undefined) return;
  const apiVersion = String(config.apiVersion ?? "");
  const paths = unknownFieldPaths(
    config,
    typeName,
    smdLabel(schemaFor(apiVersion, String(config.kind ?? ""))),
  );
  if (paths.length === 0) return;
  const errs = paths.map((p) => `.${p.join(".")}: field not declared in schema`);
  const slash = apiVersion.indexOf("/");
  const gvk = `${slash < 0 ? "" : apiVersion.slice(0, slash)}/${apiVersion.slice(slash + 1)}, Kind=${config.kind}`;
  const meta = (config.metadata ?? {}) as { namespace?: string; name?: string };
  const what = `${meta.namespace ?? ""}/${meta.name ?? ""}; ${gvk}`;
  const detail = errs.length === 1 ? errs[0] : `errors:\n  ${errs.join("\n  ")}`;
  throw new StatusError(
    makeStatus(500, undefined, `failed to create typed patch object (${what}): ${detail}`),
  );
}
