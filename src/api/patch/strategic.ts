// Strategic merge patch (application/strategic-merge-patch+json) as kube-apiserver applies it
// (apimachinery util/strategicpatch, server side: parallel lists merged, unmatched nulls ignored).
// Lists tagged `merge` merge by their key; other lists and `replace` fields are replaced; directives
// $patch (replace|delete|merge), $retainKeys, $deleteFromPrimitiveList/<f> and $setElementOrder/<f>
// are honoured. Inputs are never mutated.

import { badRequest, type StatusError, unknownError, unprocessablePatch } from "../errors.js";
import type { JsonObject, JsonValue } from "../types.js";
import { deepClone, getOwn, goTypeName, isObject, setOwn } from "./json.js";
import { type FieldSchema, fieldOf, type TypeSchema } from "./schema.js";

const deletePrefix = "$deleteFromPrimitiveList";
const orderPrefix = "$setElementOrder";
const retainKeys = "$retainKeys";

/** The error classes upstream's apiserver distinguishes when a strategic merge fails. */
class SmpError extends Error {
  constructor(
    readonly kind: "badRequest" | "unprocessable" | "other",
    message: string,
  ) {
    super(message);
  }
}

const errBadPrimitiveList = () => new SmpError("badRequest", "invalid patch format of primitive list");
const errBadRetainKeys = () => new SmpError("badRequest", "invalid patch format of retainKeys");
const errBadOrderList = () => new SmpError("badRequest", "invalid patch format of setElementOrder list");
const errNoListOfLists = () => new SmpError("unprocessable", "lists of lists are not supported");
const errBadArg = (expected: string, actual: JsonValue | undefined) =>
  new SmpError("other", `expected a ${expected}, but received a ${goTypeName(actual)}`);
const errNoMergeKey = (m: JsonObject, key: string) =>
  new SmpError("other", `map: ${goFormat(m)} does not contain declared merge key: ${key}`);
const errBadPatchType = (t: JsonValue | undefined, m: JsonObject) =>
  new SmpError("other", `unknown patch type: ${goFormat(t)} in map: ${goFormat(m)}`);

/** Go's %v for decoded JSON, which upstream's error messages embed. */
function goFormat(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(goFormat).join(" ")}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goFormat(v[k])}`).join(" ")}]`;
  }
  return String(v);
}

function toStatus(err: SmpError): StatusError {
  if (err.kind === "badRequest") return badRequest(err.message);
  if (err.kind === "unprocessable") return unprocessablePatch(err.message);
  return unknownError(err.message);
}

/** Applies `patch` to a copy of `original` using the merge metadata in `schema`. */
export function applyStrategicMergePatch(
  original: JsonObject,
  patch: JsonValue,
  schema: TypeSchema,
): JsonObject {
  if (!isObject(patch))
    throw badRequest(
      `json: cannot unmarshal ${goTypeName(patch)} into Go value of type map[string]interface {}`,
    );
  try {
    return stripDirectiveKeys(mergeMap(deepClone(original), deepClone(patch), schema)) as JsonObject;
  } catch (err) {
    if (err instanceof SmpError) throw toStatus(err);
    throw err;
  }
}

function strategyOf(field: FieldSchema): string {
  const parts = (field.strategy ?? "").split(",");
  if (parts.length === 1) return parts[0] === "retainKeys" ? "" : parts[0]!;
  if (parts.length === 2 && parts[0] === "retainKeys") return parts[1]!;
  if (parts.length === 2 && parts[1] === "retainKeys") return parts[0]!;
  throw new SmpError("other", `unexpected patch strategy: [${parts.join(" ")}]`);
}

function mergeMap(
  original: JsonObject | undefined,
  patch: JsonObject,
  schema: TypeSchema | undefined,
): JsonObject {
  if (Object.hasOwn(patch, "$patch")) {
    const directive = patch.$patch;
    if (directive === "replace") {
      delete patch.$patch;
      return patch;
    }
    if (directive === "delete") return {};
    throw errBadPatchType(directive, patch);
  }
  const out = original ?? {};
  applyRetainKeys(out, patch);
  mergeOrderedLists(out, patch, schema);
  for (const rawKey of Object.keys(patch)) {
    const patchV = patch[rawKey]!;
    let key = rawKey;
    let isDeleteList = false;
    if (rawKey.startsWith(deletePrefix)) {
      key = directiveTarget(rawKey, deletePrefix);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete out[key];
      continue;
    }
    const origV = getOwn(out, key);
    if (origV === undefined || sameKind(origV, patchV) === false) {
      if (!isDeleteList) {
        discardNulls(patchV);
        const [v, keep] = removeDirectives(patchV);
        if (keep) setOwn(out, key, v as JsonValue);
        else delete out[key];
      }
      continue;
    }
    const field = fieldOf(schema, key);
    if (isObject(origV)) {
      setOwn(
        out,
        key,
        strategyOf(field) === "replace"
          ? (patchV as JsonObject)
          : mergeMap(origV, patchV as JsonObject, field.type),
      );
    } else if (Array.isArray(origV)) {
      const strategy = strategyOf(field);
      setOwn(
        out,
        key,
        strategy === "merge" || isDeleteList
          ? mergeSlice(origV, patchV as JsonValue[], field, isDeleteList)
          : (patchV as JsonValue[]),
      );
    } else {
      const [v, keep] = removeDirectives(patchV);
      if (keep) setOwn(out, key, v as JsonValue);
      else delete out[key];
    }
  }
  return out;
}

function sameKind(a: JsonValue, b: JsonValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b);
  if (isObject(a) || isObject(b)) return isObject(a) && isObject(b);
  return typeof a === typeof b;
}

function directiveTarget(key: string, prefix: string): string {
  const slash = key.indexOf("/");
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    throw prefix === deletePrefix ? errBadPrimitiveList() : errBadOrderList();
  }
  return key.slice(slash + 1);
}

function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, retainKeys)) return;
  const list = patch[retainKeys];
  delete patch[retainKeys];
  if (!Array.isArray(list)) throw errBadRetainKeys();
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(deletePrefix) || k.startsWith(orderPrefix)) continue;
    if (!keep.has(k)) throw errBadRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/** Processes every `$setElementOrder/<f>` with its list `<f>`, then removes both from the patch. */
function mergeOrderedLists(original: JsonObject, patch: JsonObject, schema: TypeSchema | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(orderPrefix)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw errBadArg("[]interface {}", order);
    const listKey = directiveTarget(key, orderPrefix);
    const origList = original[listKey];
    const patchList = patch[listKey];
    if (origList !== undefined && !Array.isArray(origList)) throw errBadArg("[]interface {}", origList);
    if (patchList !== undefined && !Array.isArray(patchList)) throw errBadArg("[]interface {}", patchList);
    const field = fieldOf(schema, listKey);
    const strategy = strategyOf(field);
    const mergeKey = field.mergeKey ?? "";
    validateOrderList(patchList ?? [], order, mergeKey);
    let merged: JsonValue[];
    if (origList !== undefined && patchList === undefined) merged = origList;
    else if (origList === undefined && patchList !== undefined)
      merged = removeDirectives(patchList)[0] as JsonValue[];
    else if (origList !== undefined && patchList !== undefined)
      merged = strategy === "merge" ? mergeSlice(origList, patchList, field, false) : patchList;
    else continue;
    const [inPatch, serverOnly] = partition(merged, order, mergeKey);
    const isMap = elementKindIsMap(origList ?? [], patchList ?? []);
    original[listKey] = normalizeOrder(inPatch, serverOnly, order, origList ?? [], mergeKey, isMap);
    delete patch[listKey];
  }
}

function validateOrderList(patchList: JsonValue[], order: JsonValue[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const items =
    mergeKey === "" ? patchList : patchList.filter((v) => !(isObject(v) && v.$patch === "delete"));
  let p = 0;
  let o = 0;
  while (p < items.length && o < order.length) {
    const item = items[p]!;
    if (isObject(item) && Object.hasOwn(item, "$patch")) {
      p++;
      continue;
    }
    if (keyValue(item, mergeKey) === keyValue(order[o]!, mergeKey)) p++;
    o++;
  }
  if (p < items.length && o >= order.length)
    throw new SmpError(
      "other",
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match ${orderPrefix} list:\n${goFormat(order)}\n`,
    );
}

function keyValue(item: JsonValue, mergeKey: string): JsonValue | undefined {
  if (mergeKey === "") return item;
  if (!isObject(item)) throw errBadArg("map[string]interface {}", item);
  if (!Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
  return item[mergeKey];
}

/** Element kind of the lists, as upstream's sliceElementType checks it. */
function elementKindIsMap(...lists: JsonValue[][]): boolean {
  let kind: string | undefined;
  for (const list of lists) {
    for (const v of list) {
      const k = Array.isArray(v) ? "list" : isObject(v) ? "map" : v === null ? "null" : typeof v;
      if (kind === undefined) {
        kind = k;
        if (k === "list") throw errNoListOfLists();
      } else if (kind !== k) {
        throw new SmpError("other", `list element types are not identical: ${goFormat(lists)}`);
      }
    }
  }
  if (kind === undefined) throw new SmpError("other", "no elements in any of the given slices");
  return kind === "map";
}

function mergeSlice(original: JsonValue[], patch: JsonValue[], field: FieldSchema, isDeleteList: boolean) {
  if (original.length === 0 && patch.length === 0) return original;
  const isMap = elementKindIsMap(original, patch);
  const mergeKey = field.mergeKey ?? "";
  let merged: JsonValue[];
  let base = original;
  let patchItems = patch;
  if (!isMap) {
    if (isDeleteList) return original.filter((v) => !patch.includes(v));
    merged = dedupeScalars([...original, ...patch]);
  } else {
    if (mergeKey === "") throw new SmpError("other", "cannot merge lists without merge key for struct");
    [base, patchItems] = applySpecialElements(original, patch, mergeKey);
    merged = [...base];
    for (const item of patchItems as JsonObject[]) {
      if (!Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
      const i = findByKey(merged, mergeKey, item[mergeKey]!);
      if (i >= 0) merged[i] = mergeMap(merged[i] as JsonObject, item, field.type);
      else merged.push(item);
    }
  }
  const [inPatch, serverOnly] = partition(merged, patchItems, mergeKey);
  return normalizeOrder(inPatch, serverOnly, patchItems, base, mergeKey, isMap);
}

/** Upstream's in-place dedupe, which moves the last element into each duplicate's slot. */
function dedupeScalars(s: JsonValue[]): JsonValue[] {
  let last = s.length - 1;
  for (let i = 0; i < last; i++) {
    for (let j = i + 1; j <= last; j++) {
      if (s[i] === s[j]) {
        s[j] = s[last]!;
        s.length = last;
        last--;
        j--;
      }
    }
  }
  return s;
}

/** Handles `$patch: delete|replace` elements; returns the new base list and the plain patch items. */
function applySpecialElements(original: JsonValue[], patch: JsonValue[], mergeKey: string) {
  const plain: JsonValue[] = [];
  let base = original;
  let replace = false;
  for (const v of patch as JsonObject[]) {
    if (!Object.hasOwn(v, "$patch")) {
      plain.push(v);
      continue;
    }
    const directive = v.$patch;
    if (directive === "delete") {
      if (!Object.hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
      base = base.filter((item, idx) => {
        if (!isObject(item)) throw new SmpError("other", `value for key ${idx} is not a map`);
        return !(Object.hasOwn(item, mergeKey) && item[mergeKey] === v[mergeKey]);
      });
    } else if (directive === "replace") {
      replace = true;
    } else if (directive === "merge") {
      throw new SmpError("other", "merging lists cannot yet be specified in the patch");
    } else {
      throw errBadPatchType(directive, v);
    }
  }
  return replace ? [plain, [] as JsonValue[]] : [base, plain];
}

function findByKey(list: JsonValue[], mergeKey: string, value: JsonValue): number {
  return list.findIndex((item, idx) => {
    if (!isObject(item)) throw new SmpError("other", `value for key ${idx} is not a map`);
    return Object.hasOwn(item, mergeKey) && item[mergeKey] === value;
  });
}

function partition(items: JsonValue[], by: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const inBy: JsonValue[] = [];
  const rest: JsonValue[] = [];
  for (const v of items) {
    const found =
      mergeKey === ""
        ? by.includes(v)
        : by.some((b) => isObject(b) && Object.hasOwn(b, mergeKey) && b[mergeKey] === keyValue(v, mergeKey));
    (found ? inBy : rest).push(v);
  }
  return [inBy, rest];
}

function indexIn(list: JsonValue[], v: JsonValue, mergeKey: string, isMap: boolean): number {
  const get = (x: JsonValue) => (isMap ? (isObject(x) ? x[mergeKey] : undefined) : x);
  const want = get(v);
  return list.findIndex((x) => get(x) === want);
}

/** Patch items in patch order, server-only items in server order, interleaved by server order. */
function normalizeOrder(
  patchItems: JsonValue[],
  serverOnly: JsonValue[],
  patchOrder: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  isMap: boolean,
): JsonValue[] {
  const left = sortByOrder(serverOnly, serverOrder, mergeKey, isMap);
  const right = sortByOrder(patchItems, patchOrder, mergeKey, isMap);
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]!);
    else if (j >= right.length) out.push(left[i++]!);
    else {
      const li = indexIn(serverOrder, left[i]!, mergeKey, isMap);
      const ri = indexIn(serverOrder, right[j]!, mergeKey, isMap);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]!);
      else out.push(right[j++]!);
    }
  }
  return out;
}

/** Go's stable insertion sort with upstream's comparator (items missing from `order` sort as "less"). */
function sortByOrder(items: JsonValue[], order: JsonValue[], mergeKey: string, isMap: boolean): JsonValue[] {
  let toSort = [...items];
  let toDelete: JsonValue[] = [];
  if (isMap) {
    for (const v of [...toSort, ...order]) keyValue(v, mergeKey);
    toDelete = toSort.filter((v) => isObject(v) && v.$patch === "delete");
    toSort = toSort.filter((v) => !(isObject(v) && v.$patch === "delete"));
  }
  const less = (a: JsonValue, b: JsonValue) => {
    const ia = indexIn(order, a, mergeKey, isMap);
    const ib = ia >= 0 ? indexIn(order, b, mergeKey, isMap) : -1;
    return ia >= 0 && ib >= 0 ? ia < ib : true;
  };
  for (let i = 1; i < toSort.length; i++) {
    for (let j = i; j > 0 && less(toSort[j]!, toSort[j - 1]!); j--) {
      [toSort[j], toSort[j - 1]] = [toSort[j - 1]!, toSort[j]!];
    }
  }
  return [...toSort, ...toDelete];
}

function discardNulls(v: JsonValue): void {
  if (Array.isArray(v)) for (const x of v) discardNulls(x);
  else if (isObject(v))
    for (const [k, x] of Object.entries(v)) {
      if (x === null) delete v[k];
      else discardNulls(x);
    }
}

/** Drops maps carrying `$patch` (they were instructions, not content); reports whether to keep `v`. */
function removeDirectives(v: JsonValue): [JsonValue | undefined, boolean] {
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const x of v) {
      const [nv, keep] = removeDirectives(x);
      if (keep) out.push(nv as JsonValue);
    }
    return [out, true];
  }
  if (isObject(v)) {
    if (Object.hasOwn(v, "$patch")) return [undefined, false];
    for (const k of Object.keys(v)) {
      const [nv, keep] = removeDirectives(v[k]!);
      if (keep) setOwn(v, k, nv as JsonValue);
      else delete v[k];
    }
  }
  return [v, true];
}

/**
 * Upstream decodes the merged map into the typed object, which silently drops `$`-directive keys that
 * arrived inside newly added content; kite stores JSON, so it drops them here instead.
 */
function stripDirectiveKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(stripDirectiveKeys);
  if (!isObject(v)) return v;
  for (const k of Object.keys(v)) {
    if (
      k === "$patch" ||
      k === retainKeys ||
      k.startsWith(`${deletePrefix}/`) ||
      k.startsWith(`${orderPrefix}/`)
    )
      delete v[k];
    else v[k] = stripDirectiveKeys(v[k]!);
  }
  return v;
}
