// RFC 6902 JSON Patch (application/json-patch+json). The input document is never mutated. Failures
// come back as the StatusErrors kube-apiserver sends: 400 for a malformed patch, 413 for more than
// 10000 operations, 422 when an operation does not apply.

import { badRequest, requestEntityTooLarge, unprocessablePatch } from "../errors.js";
import type { JsonValue } from "../types.js";
import { deepClone, deepEqual, isObject } from "./json.js";

export const maxJsonPatchOperations = 10000;

export interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  from?: string;
  value?: JsonValue;
}

/** Splits a JSON pointer into unescaped tokens (RFC 6901): "/a~1b/~0c" → ["a/b", "~c"]. */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/"))
    throw new PatchFailure(`JSON pointer must be empty or start with "/": "${pointer}"`);
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export function formatPointer(tokens: readonly string[]): string {
  return tokens.map((t) => `/${t.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

/** An operation that cannot be applied; reported as a 422. */
class PatchFailure extends Error {}

function arrayIndex(token: string, length: number, allowEnd: boolean, pointer: string): number {
  if (allowEnd && token === "-") return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw new PatchFailure(`invalid array index "${token}" in "${pointer}"`);
  const i = Number(token);
  const limit = allowEnd ? length : length - 1;
  if (i > limit) throw new PatchFailure(`array index ${i} out of bounds in "${pointer}"`);
  return i;
}

/** Resolves all but the last token; the container must exist. */
function parentOf(doc: JsonValue, tokens: string[], pointer: string): JsonValue {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false, pointer)]!;
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t]!;
    else throw new PatchFailure(`doc is missing path: "${pointer}"`);
  }
  return cur;
}

function get(doc: JsonValue, pointer: string): JsonValue {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, false, pointer)]!;
  if (isObject(parent) && Object.hasOwn(parent, last)) return parent[last]!;
  throw new PatchFailure(`doc is missing key: "${pointer}"`);
}

/** Returns the new document (the root may be replaced). */
function add(doc: JsonValue, pointer: string, value: JsonValue): JsonValue {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true, pointer), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw new PatchFailure(`doc is missing path: "${pointer}"`);
  return doc;
}

function remove(doc: JsonValue, pointer: string): JsonValue {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchFailure("cannot remove the whole document");
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false, pointer), 1);
  else if (isObject(parent) && Object.hasOwn(parent, last)) delete parent[last];
  else throw new PatchFailure(`doc is missing key: "${pointer}"`);
  return doc;
}

function replace(doc: JsonValue, pointer: string, value: JsonValue): JsonValue {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent[arrayIndex(last, parent.length, false, pointer)] = value;
  else if (isObject(parent) && Object.hasOwn(parent, last)) parent[last] = value;
  else throw new PatchFailure(`doc is missing key: "${pointer}"`);
  return doc;
}

function need<K extends "path" | "from">(op: Record<string, unknown>, key: K, i: number): string {
  const v = op[key];
  if (typeof v !== "string") throw new PatchFailure(`operation ${i} (${String(op.op)}) is missing "${key}"`);
  return v;
}

function operationValue(op: Record<string, unknown>, i: number): JsonValue {
  if (!Object.hasOwn(op, "value"))
    throw new PatchFailure(`operation ${i} (${String(op.op)}) is missing "value"`);
  return deepClone(op.value as JsonValue);
}

function applyOne(doc: JsonValue, op: Record<string, unknown>, i: number): JsonValue {
  switch (op.op) {
    case "add":
      return add(doc, need(op, "path", i), operationValue(op, i));
    case "remove":
      return remove(doc, need(op, "path", i));
    case "replace": {
      const path = need(op, "path", i);
      return replace(doc, path, operationValue(op, i));
    }
    case "move": {
      const from = need(op, "from", i);
      const path = need(op, "path", i);
      if (path.startsWith(`${from}/`))
        throw new PatchFailure(`cannot move "${from}" into its own child "${path}"`);
      if (from === path) return doc;
      const value = get(doc, from);
      return add(remove(doc, from), path, value);
    }
    case "copy": {
      const from = need(op, "from", i);
      return add(doc, need(op, "path", i), deepClone(get(doc, from)));
    }
    case "test": {
      const path = need(op, "path", i);
      const expected = operationValue(op, i);
      let actual: JsonValue | undefined;
      try {
        actual = get(doc, path);
      } catch {
        actual = undefined;
      }
      // A missing member tests equal to null, as upstream's json-patch treats it.
      if (!deepEqual(actual === undefined ? null : actual, expected))
        throw new PatchFailure(`testing value "${path}" failed: test failed`);
      return doc;
    }
    default:
      throw new PatchFailure(`Unexpected kind: ${String(op.op)}`);
  }
}

/** Checks the patch's shape; a patch that is not an array of objects is a 400. */
export function decodeJsonPatch(patch: unknown): Record<string, unknown>[] {
  if (!Array.isArray(patch) || !patch.every(isObject))
    throw badRequest(
      "json: cannot unmarshal into Go value of type jsonpatch.Patch: a JSON patch must be an array of operations",
    );
  if (patch.length > maxJsonPatchOperations)
    throw requestEntityTooLarge(
      `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${patch.length}`,
    );
  return patch as Record<string, unknown>[];
}

/** Applies an RFC 6902 patch to a copy of `doc` and returns the copy. */
export function applyJsonPatch(doc: JsonValue, patch: unknown): JsonValue {
  const ops = decodeJsonPatch(patch);
  let out = deepClone(doc);
  ops.forEach((op, i) => {
    try {
      out = applyOne(out, op, i);
    } catch (err) {
      if (err instanceof PatchFailure)
        throw unprocessablePatch(`${String(op.op)} operation does not apply: ${err.message}`);
      throw err;
    }
  });
  return out;
}
