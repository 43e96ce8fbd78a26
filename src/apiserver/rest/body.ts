// Request bodies: read with upstream's 3 MiB limit (413 beyond it), decoded from JSON or YAML.
// Protobuf bodies (what kubectl 1.32's typed clients send) are decoded for the kinds in
// protobuf/schema.ts; other protobuf is a 415 that says so; anything unparsable is a 400.
import type { IncomingMessage } from "node:http";
import YAML from "yaml";
import {
  badRequest,
  type JsonValue,
  makeStatus,
  requestEntityTooLarge,
  StatusError,
  unsupportedMediaType,
} from "../../api/index.js";
import { decodeKubernetesProtobuf, ProtobufError, ProtobufUnsupportedError } from "./protobuf/decode.js";

export const defaultMaxBodyBytes = 3 * 1024 * 1024;

export const bodyMediaTypes = [
  "application/json",
  "application/yaml",
  "application/vnd.kubernetes.protobuf",
] as const;

/** The bare media type of a Content-Type header, lower case ("" when absent). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes)
    return Promise.reject(requestEntityTooLarge(`limit is ${maxBytes}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        reject(requestEntityTooLarge(`limit is ${maxBytes}`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.on("error", (err) => {
      if (done) return;
      done = true;
      reject(badRequest(`error reading the request body: ${err.message}`));
    });
    req.on("close", () => {
      if (done) return;
      done = true;
      reject(badRequest("the client closed the connection before sending the whole body"));
    });
  });
}

function decodeProtobufBody(body: Buffer): JsonValue {
  try {
    return decodeKubernetesProtobuf(body);
  } catch (err) {
    if (err instanceof ProtobufUnsupportedError)
      throw new StatusError(makeStatus(415, "UnsupportedMediaType", (err as Error).message));
    if (err instanceof ProtobufError) throw badRequest(`unable to decode the protobuf body: ${err.message}`);
    throw err;
  }
}

/** Rejects keys that would reach an object's prototype when the value is merged into another. */
function checkKeys(v: JsonValue, depth = 0): void {
  if (depth > 200) throw badRequest("the request body is nested too deeply");
  if (Array.isArray(v)) {
    for (const x of v) checkKeys(x, depth + 1);
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k === "__proto__") throw badRequest('the key "__proto__" is not supported in request bodies');
      checkKeys(x, depth + 1);
    }
  }
}

/** Parses JSON text as upstream's decoder reports failures. */
export function parseJson(text: string): JsonValue {
  let v: JsonValue;
  try {
    v = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw badRequest(`json parse error: ${(err as Error).message}`);
  }
  checkKeys(v);
  return v;
}

const maxYamlDepth = 100;

/**
 * A cheap upper estimate of a YAML text's nesting (block indentation levels, compact "- - x"
 * sequences, flow brackets). The YAML parser recurses per level, and V8 aborts the process when a
 * regular expression is compiled near the stack limit, so deep documents are refused up front.
 */
function yamlDepthEstimate(text: string): number {
  // Brackets inside quoted strings count too: an overestimate, never an underestimate.
  let flow = 0;
  let maxFlow = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) maxFlow = Math.max(maxFlow, ++flow);
    else if ((c === 0x5d || c === 0x7d) && flow > 0) flow--;
  }
  const indents: number[] = [];
  let maxBlock = 0;
  for (const line of text.split("\n")) {
    const indent = line.length - line.trimStart().length;
    const rest = line.slice(indent);
    if (rest === "" || rest.startsWith("#")) continue;
    while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
    indents.push(indent);
    const compact = /^(?:[-?:][ \t]+)*/.exec(rest)![0].replace(/[ \t]/g, "").length;
    maxBlock = Math.max(maxBlock, indents.length + compact);
  }
  return maxBlock + maxFlow;
}

/** Parses one YAML document (JSON is YAML) into JSON values. */
export function parseYaml(text: string): JsonValue {
  if (/^\s*[[{]/.test(text)) {
    // JSON (what kubectl sends for apply patches) needs no YAML parser.
    let json: JsonValue | undefined;
    try {
      json = JSON.parse(text) as JsonValue;
    } catch {
      json = undefined;
    }
    if (json !== undefined) {
      checkKeys(json);
      return json;
    }
  }
  if (yamlDepthEstimate(text) > maxYamlDepth)
    throw badRequest(`error converting YAML to JSON: yaml: exceeded max depth of ${maxYamlDepth}`);
  let v: JsonValue;
  try {
    const doc = YAML.parseDocument(text, { uniqueKeys: false });
    if (doc.errors.length > 0) throw doc.errors[0];
    v = (doc.toJS({ maxAliasCount: 100 }) ?? null) as JsonValue;
  } catch (err) {
    throw badRequest(`error converting YAML to JSON: yaml: ${(err as Error).message.split("\n")[0]}`);
  }
  checkKeys(v);
  return JSON.parse(JSON.stringify(v)) as JsonValue;
}

/** Decodes an object body of a create/update by its Content-Type. */
export function decodeObjectBody(contentType: string | undefined, body: Buffer): Record<string, JsonValue> {
  const mt = mediaTypeOf(contentType);
  let v: JsonValue;
  if (mt === "" || mt === "application/json" || mt === "*/*") v = parseJson(body.toString("utf8"));
  else if (mt === "application/yaml") v = parseYaml(body.toString("utf8"));
  else if (mt === "application/vnd.kubernetes.protobuf") v = decodeProtobufBody(body);
  else throw unsupportedMediaType(bodyMediaTypes);
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw badRequest(
      `couldn't get version/kind; json parse error: json: cannot unmarshal ${goKind(v)} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`,
    );
  return v;
}

function goKind(v: JsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "string") return "string";
  if (typeof v === "number") return "number";
  if (typeof v === "boolean") return "bool";
  return "object";
}
