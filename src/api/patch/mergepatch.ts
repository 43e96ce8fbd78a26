// RFC 7386 JSON Merge Patch (application/merge-patch+json): objects merge recursively, null deletes,
// anything else (arrays included) replaces. Neither input is mutated and the result shares nothing
// with them, so callers may edit it freely.

import type { JsonObject, JsonValue } from "../types.js";
import { deepClone, getOwn, isObject, setOwn } from "./json.js";

export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  return mergeInto(deepClone(target), patch);
}

function mergeInto(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return deepClone(patch);
  const out: JsonObject = isObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else setOwn(out, key, mergeInto(getOwn(out, key), value));
  }
  return out;
}
