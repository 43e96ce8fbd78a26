// Server-side apply (application/apply-patch+yaml) and the field-ownership bookkeeping every write does,
// kept in metadata.managedFields as upstream's structured-merge-diff does. Scope (kept small on purpose):
// - apply merges the applied config into the live object (maps recursively, list-maps by key, sets by
//   value, everything else replaced), fails with upstream's 409 when it changes fields another manager
//   owns (force moves them), and removes fields the manager applied before but no longer applies and
//   nobody else owns;
// - non-apply writes move ownership of the fields they change to their manager (operation Update);
// - an object with no managedFields is owned by "before-first-apply" when first applied to;
// - list-map items keep the live order, new items are appended; managedFields sent by clients are
//   ignored; there is no version conversion of field sets (every entry is read as the current version).

import { applyConflict, invalid } from "./errors.js";
import {
  type FieldPathElements,
  FieldSet,
  fieldSetOf,
  formatFieldPath,
  keyElement,
  removeAt,
  valueAt,
} from "./fieldset.js";
import { deepClone, deepEqual, isObject } from "./patch/json.js";
import { type FieldSchema, fieldOf, type TypeSchema } from "./patch/schema.js";
import type { JsonObject, JsonValue, KubeObject, ManagedFieldsEntry, StatusCause } from "./types.js";
import { fieldErrors, goQuote } from "./validation.js";

export interface ManagerOptions {
  /** fieldManager query parameter (or the user agent's first token for non-apply writes). */
  manager: string;
  /** apiVersion of the endpoint, e.g. "apps/v1". */
  apiVersion: string;
  /** RFC 3339 timestamp recorded on the entries this write touches. */
  now: string;
  /** Merge metadata of the kind; undefined for custom resources (all lists atomic). */
  schema?: TypeSchema;
  subresource?: string;
  /** Top-level fields this endpoint resets and nobody owns through it; default ["status"]. */
  ignoredFields?: readonly string[];
}

export interface ApplyOptions extends ManagerOptions {
  force?: boolean;
}

interface Entry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  subresource: string;
  time: string | undefined;
  set: FieldSet;
}

const systemPaths: FieldPathElements[] = [
  ["f:apiVersion"],
  ["f:kind"],
  ...["name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation"].map((f) => [
    "f:metadata",
    `f:${f}`,
  ]),
  ["f:metadata", "f:managedFields"],
  ["f:metadata", "f:resourceVersion"],
];

function strip(set: FieldSet, opts: ManagerOptions): FieldSet {
  let out = set;
  for (const p of systemPaths) out = out.withoutPrefix(p);
  for (const f of opts.ignoredFields ?? ["status"]) out = out.withoutPrefix([`f:${f}`]);
  return out;
}

/** Entries are identified as upstream does: appliers by name alone, updaters also by version. */
function identity(e: Pick<Entry, "manager" | "operation" | "apiVersion" | "subresource">): string {
  return JSON.stringify([e.manager, e.operation, e.operation === "Apply" ? "" : e.apiVersion, e.subresource]);
}

function readEntries(obj: KubeObject | undefined): Entry[] {
  return (obj?.metadata?.managedFields ?? []).map((m) => ({
    manager: m.manager ?? "",
    operation: m.operation === "Apply" ? "Apply" : "Update",
    apiVersion: m.apiVersion ?? "",
    subresource: m.subresource ?? "",
    time: m.time,
    set: FieldSet.fromFieldsV1(m.fieldsV1),
  }));
}

function writeEntries(entries: Entry[]): ManagedFieldsEntry[] {
  const seconds = (t: string | undefined) => (t ? Math.floor(Date.parse(t) / 1000) : 0);
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return entries
    .filter((e) => !e.set.isEmpty())
    .sort(
      (p, q) =>
        cmp(p.operation, q.operation) ||
        seconds(p.time) - seconds(q.time) ||
        cmp(p.manager, q.manager) ||
        cmp(p.apiVersion, q.apiVersion) ||
        cmp(p.subresource, q.subresource),
    )
    .map((e) => {
      const out: ManagedFieldsEntry = {
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
      };
      if (e.time !== undefined) out.time = e.time;
      out.fieldsType = "FieldsV1";
      out.fieldsV1 = e.set.toFieldsV1();
      if (e.subresource !== "") out.subresource = e.subresource;
      return out;
    });
}

function withManagedFields(obj: KubeObject, entries: Entry[]): KubeObject {
  const managedFields = writeEntries(entries);
  const metadata = { ...(obj.metadata ?? {}) };
  if (managedFields.length > 0) metadata.managedFields = managedFields;
  else delete metadata.managedFields;
  return { ...obj, metadata };
}

function dropNulls(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
  return out;
}

/** live ⊕ config: config wins on every field it sets. */
function mergeValues(live: JsonValue | undefined, config: JsonValue, field: FieldSchema): JsonValue {
  if (isObject(config) && isObject(live) && !field.atomic) {
    const out: JsonObject = { ...live };
    for (const [k, v] of Object.entries(config)) out[k] = mergeValues(live[k], v, fieldOf(field.type, k));
    return out;
  }
  if (Array.isArray(config) && Array.isArray(live) && field.listType === "map") {
    const byKey = new Map(config.map((c) => [keyElement(c, field), c] as const));
    const out = live.map((item) => {
      const key = keyElement(item, field);
      const c = key === undefined ? undefined : byKey.get(key);
      return c === undefined ? item : mergeValues(item, c, { type: field.type });
    });
    const liveKeys = new Set(live.map((item) => keyElement(item, field)));
    for (const c of config) if (!liveKeys.has(keyElement(c, field))) out.push(deepClone(c));
    return out;
  }
  if (Array.isArray(config) && Array.isArray(live) && field.listType === "set") {
    return [...live, ...config.filter((c) => !live.some((l) => deepEqual(l, c)))];
  }
  return deepClone(config);
}

/** Paths in `candidates` whose value differs between `before` and `after` (items: only when added). */
function changedPaths(
  before: JsonValue,
  after: JsonValue,
  candidates: FieldSet,
  schema?: TypeSchema,
): FieldSet {
  const changed = candidates.paths().filter((p) => {
    const a = valueAt(before, schema, p);
    const last = p[p.length - 1] ?? "";
    if (last.startsWith("k:") || last.startsWith("v:") || a === undefined) return a === undefined;
    return !deepEqual(a, valueAt(after, schema, p));
  });
  return FieldSet.of(changed);
}

function describeManager(e: Entry): string {
  let s = goQuote(e.manager);
  if (e.subresource !== "") s += ` with subresource ${goQuote(e.subresource)}`;
  return e.operation === "Update" ? `${s} using ${e.apiVersion}` : s;
}

function conflictError(conflicts: { entry: Entry; path: string[] }[]) {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${describeManager(c.entry)}`,
    field: formatFieldPath(c.path),
  }));
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    return applyConflict(
      causes,
      `Apply failed with 1 conflict: conflict with ${describeManager(c.entry)}: ${formatFieldPath(c.path)}`,
    );
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const who = describeManager(c.entry);
    byManager.set(who, [...(byManager.get(who) ?? []), `- ${formatFieldPath(c.path)}`]);
  }
  const lines = [...byManager.keys()]
    .sort()
    .flatMap((who) => [`conflicts with ${who}:`, ...byManager.get(who)!]);
  return applyConflict(causes, `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`);
}

/** Applies `config` for `opts.manager`; returns the new object with updated managedFields. */
export function serverSideApply(
  live: KubeObject | undefined,
  config: KubeObject,
  opts: ApplyOptions,
): KubeObject {
  if (opts.manager === "")
    throw invalid({ group: "meta.k8s.io", kind: "PatchOptions" }, "", [
      fieldErrors.required("fieldManager", "is required for apply patch"),
    ]);
  const schema = opts.schema;
  const cfg = dropNulls(deepClone(config) as JsonObject) as JsonObject;
  if (isObject(cfg.metadata)) delete cfg.metadata.managedFields;
  const base = (live ? deepClone(live) : {}) as JsonObject;
  if (isObject(base.metadata)) delete base.metadata.managedFields;

  const entries = readEntries(live);
  if (live && entries.length === 0) {
    entries.push({
      manager: "before-first-apply",
      operation: "Update",
      apiVersion: opts.apiVersion,
      subresource: "",
      time: undefined,
      set: strip(fieldSetOf(base, schema, true), opts),
    });
  }
  const me = {
    manager: opts.manager,
    operation: "Apply" as const,
    apiVersion: opts.apiVersion,
    subresource: opts.subresource ?? "",
  };
  const myId = identity(me);
  const configSet = strip(fieldSetOf(cfg, schema), opts);
  const merged = mergeValues(base, cfg, { type: schema }) as JsonObject;
  const changed = changedPaths(base, merged, configSet, schema);

  const others = entries.filter((e) => identity(e) !== myId);
  const conflicts = others.flatMap((entry) =>
    entry.set
      .intersect(changed)
      .paths()
      .map((path) => ({ entry, path })),
  );
  if (conflicts.length > 0 && !opts.force) throw conflictError(conflicts);
  for (const e of others) e.set = e.set.difference(changed);

  const previous = entries.find((e) => identity(e) === myId)?.set ?? FieldSet.of();
  const ownedByOthers = others.reduce((acc, e) => acc.union(e.set), FieldSet.of());
  const othersPaths = ownedByOthers.paths().map((p) => JSON.stringify(p).slice(0, -1));
  const dropped = previous.difference(configSet).difference(ownedByOthers).paths();
  // Parents first: once a list item is gone its fields are too, and its key can no longer be matched.
  for (const path of dropped.sort((a, b) => a.length - b.length)) {
    const prefix = JSON.stringify(path).slice(0, -1);
    if (othersPaths.some((o) => o.startsWith(`${prefix},`))) continue;
    removeAt(merged, schema, path);
  }

  return withManagedFields(merged as KubeObject, [...others, { ...me, time: opts.now, set: configSet }]);
}

/**
 * Records a create/update/patch that is not an apply: the fields it changed become owned by
 * `opts.manager` (operation Update) and are taken from every other manager.
 */
export function recordUpdate(
  live: KubeObject | undefined,
  updated: KubeObject,
  opts: ManagerOptions,
): KubeObject {
  const schema = opts.schema;
  const before = (live ? deepClone(live) : {}) as JsonObject;
  const after = deepClone(updated) as JsonObject;
  for (const o of [before, after]) if (isObject(o.metadata)) delete o.metadata.managedFields;
  const oldSet = strip(fieldSetOf(before, schema, true), opts);
  const newSet = strip(fieldSetOf(after, schema, true), opts);
  const changed = changedPaths(before, after, newSet, schema);
  const removed = oldSet.difference(newSet);

  const me = {
    manager: opts.manager,
    operation: "Update" as const,
    apiVersion: opts.apiVersion,
    subresource: opts.subresource ?? "",
  };
  const myId = identity(me);
  const entries = readEntries(live);
  let mine = entries.find((e) => identity(e) === myId);
  if (!mine) entries.push((mine = { ...me, time: undefined, set: FieldSet.of() }));
  for (const e of entries) {
    if (e === mine) e.set = e.set.union(changed).difference(removed);
    else e.set = e.set.difference(changed).difference(removed);
  }
  if (!changed.isEmpty()) mine.time = opts.now;
  return withManagedFields(updated, entries);
}
