// Where objects live in etcd and how they are encoded: keys, JSON values without
// metadata.resourceVersion (it is the key's mod_revision, set on read as upstream does), and
// upstream's continue tokens (base64url JSON {"v":"meta.k8s.io/v1","rv":N,"start":"<key rest>"}).
import { posix } from "node:path";
import { badRequest, type KubeObject } from "../../api/index.js";
import type { ResourceDef } from "../types.js";
import type { KeyValue } from "./etcd-client.js";

/** "<prefix>/<group or core>/<resource>" with no trailing slash. */
export function resourcePrefix(prefix: string, def: ResourceDef): string {
  return `${prefix}/${def.group === "" ? "core" : def.group}/${def.resource}`;
}

/** Upstream's path-segment rule for names (IsValidPathSegmentName), answered with its 400. */
function checkSegment(kind: "Name" | "Namespace", value: string): void {
  const msgs: string[] = [];
  if (value === ".") msgs.push("may not be '.'");
  if (value === "..") msgs.push("may not be '..'");
  if (value.includes("/")) msgs.push("may not contain '/'");
  if (value.includes("%")) msgs.push("may not contain '%'");
  if (msgs.length > 0)
    throw badRequest(`${kind} parameter invalid: ${JSON.stringify(value)}: ${msgs.join(";")}`);
}

/** The key of one object; 400 for a namespaced kind without a namespace or a bad name. */
export function objectKey(
  prefix: string,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
): string {
  if (name === "") throw badRequest("Name parameter required.");
  checkSegment("Name", name);
  if (!def.namespaced) return `${resourcePrefix(prefix, def)}/${name}`;
  if (!namespace) throw badRequest("Namespace parameter required.");
  checkSegment("Namespace", namespace);
  return `${resourcePrefix(prefix, def)}/${namespace}/${name}`;
}

/** The key prefix a list or watch covers: the resource, or one namespace of it. Ends with "/". */
export function listPrefix(prefix: string, def: ResourceDef, namespace: string | undefined): string {
  if (def.namespaced && namespace) {
    checkSegment("Namespace", namespace);
    return `${resourcePrefix(prefix, def)}/${namespace}/`;
  }
  return `${resourcePrefix(prefix, def)}/`;
}

/** The stored bytes: the object without metadata.resourceVersion. */
export function encodeObject(obj: KubeObject): Buffer {
  const meta = { ...(obj.metadata ?? {}) };
  delete meta.resourceVersion;
  return Buffer.from(JSON.stringify({ ...obj, metadata: meta }));
}

/** Decodes a stored value and stamps resourceVersion; throws when the bytes are not an object. */
export function decodeValue(value: Buffer, resourceVersion: string | number): KubeObject {
  const obj = JSON.parse(value.toString("utf8")) as KubeObject;
  if (obj === null || typeof obj !== "object" || Array.isArray(obj))
    throw new Error("stored value is not a JSON object");
  obj.metadata = { ...(obj.metadata ?? {}), resourceVersion: String(resourceVersion) };
  return obj;
}

export function decodeKv(kv: KeyValue): KubeObject {
  return decodeValue(kv.value, kv.mod_revision);
}

export function encodeContinue(key: string, keyPrefix: string, rv: number): string {
  if (!key.startsWith(keyPrefix)) throw new Error(`continue key ${key} is outside ${keyPrefix}`);
  const token = { v: "meta.k8s.io/v1", rv, start: key.slice(keyPrefix.length) };
  return Buffer.from(JSON.stringify(token)).toString("base64url");
}

/** Decodes a continue token into the key to resume from and its revision (-1 = latest). */
export function decodeContinue(token: string, keyPrefix: string): { key: string; rv: number } {
  const invalid = (detail: string) => badRequest(`invalid continue token: ${detail}`);
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(token)) throw new Error("illegal base64 data");
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch (err) {
    throw invalid(`continue key is not valid: ${(err as Error).message}`);
  }
  const c = (parsed ?? {}) as { v?: unknown; rv?: unknown; start?: unknown };
  if (c.v !== "meta.k8s.io/v1")
    throw invalid(
      `continue key is not valid: server does not recognize this encoded version ${String(c.v ?? "")}`,
    );
  const rv = typeof c.rv === "number" && Number.isSafeInteger(c.rv) ? c.rv : 0;
  if (rv === 0)
    throw invalid(
      "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
    );
  const start = typeof c.start === "string" ? c.start : "";
  if (start === "")
    throw invalid("continue key is not valid: encoded start key empty (version meta.k8s.io/v1)");
  // As upstream, the start key must already be a clean path so it cannot climb above keyPrefix.
  const rooted = start.startsWith("/") ? start : `/${start}`;
  let cleaned = posix.normalize(rooted);
  if (cleaned.length > 1 && cleaned.endsWith("/")) cleaned = cleaned.slice(0, -1);
  if (cleaned !== rooted) throw invalid(`continue key is not valid: ${start}`);
  return { key: keyPrefix + cleaned.slice(1), rv };
}
