// Field sets as server-side apply tracks them in metadata.managedFields (FieldsV1): a path is a list of
// elements "f:<field>", "k:<json of list-map keys>", "v:<json of set value>", "i:<index>".

import { deepEqual, isObject } from "./patch/json.js";
import { type FieldSchema, fieldOf, type TypeSchema } from "./patch/schema.js";
import type { JsonObject, JsonValue } from "./types.js";

export type FieldPathElements = readonly string[];

/** An immutable set of paths. */
export class FieldSet {
  private constructor(private readonly members: ReadonlySet<string>) {}

  static of(paths: Iterable<FieldPathElements> = []): FieldSet {
    const m = new Set<string>();
    for (const p of paths) m.add(JSON.stringify(p));
    return new FieldSet(m);
  }

  private static ofKeys(keys: Iterable<string>): FieldSet {
    return new FieldSet(new Set(keys));
  }

  get size(): number {
    return this.members.size;
  }

  isEmpty(): boolean {
    return this.members.size === 0;
  }

  has(path: FieldPathElements): boolean {
    return this.members.has(JSON.stringify(path));
  }

  paths(): string[][] {
    return [...this.members].sort().map((m) => JSON.parse(m) as string[]);
  }

  union(o: FieldSet): FieldSet {
    return FieldSet.ofKeys([...this.members, ...o.members]);
  }

  difference(o: FieldSet): FieldSet {
    return FieldSet.ofKeys([...this.members].filter((m) => !o.members.has(m)));
  }

  intersect(o: FieldSet): FieldSet {
    return FieldSet.ofKeys([...this.members].filter((m) => o.members.has(m)));
  }

  /** Drops every path that starts with `prefix` (the prefix itself included). */
  withoutPrefix(prefix: FieldPathElements): FieldSet {
    const head = JSON.stringify(prefix).slice(0, -1);
    return FieldSet.ofKeys([...this.members].filter((m) => !(m === `${head}]` || m.startsWith(`${head},`))));
  }

  /** Decodes FieldsV1: `{}` marks a member leaf, "." marks a member that also has children. */
  static fromFieldsV1(v: JsonValue | undefined): FieldSet {
    const out: string[][] = [];
    const walk = (node: JsonObject, prefix: string[]) => {
      for (const [k, child] of Object.entries(node)) {
        if (k === ".") {
          out.push(prefix);
          continue;
        }
        const p = [...prefix, k];
        if (isObject(child) && Object.keys(child).length > 0) walk(child, p);
        else out.push(p);
      }
    };
    if (isObject(v)) walk(v, []);
    return FieldSet.of(out);
  }

  toFieldsV1(): JsonObject {
    interface Node {
      self: boolean;
      children: Map<string, Node>;
    }
    const root: Node = { self: false, children: new Map() };
    for (const path of this.paths()) {
      let node = root;
      for (const k of path) {
        let child = node.children.get(k);
        if (!child) node.children.set(k, (child = { self: false, children: new Map() }));
        node = child;
      }
      node.self = true;
    }
    const encode = (node: Node): JsonObject => {
      const out: JsonObject = {};
      if (node.self && node.children.size > 0) out["."] = {};
      for (const [k, child] of node.children) out[k] = encode(child);
      return out;
    };
    return encode(root);
  }
}

/** The key element of a list-map item: `k:{"name":"web"}` with keys sorted and defaults filled. */
export function keyElement(item: JsonValue, field: FieldSchema): string | undefined {
  if (!isObject(item)) return undefined;
  const key: JsonObject = {};
  for (const k of [...(field.listMapKeys ?? [])].sort()) {
    const v = Object.hasOwn(item, k) ? item[k] : field.keyDefaults?.[k];
    if (v === undefined) return undefined;
    key[k] = v!;
  }
  return `k:${JSON.stringify(key)}`;
}

/** The path as upstream prints it in conflicts: `.spec.containers[name="web"].image`. */
export function formatFieldPath(path: FieldPathElements): string {
  return path
    .map((e) => {
      const body = e.slice(2);
      if (e.startsWith("f:")) return `.${body}`;
      if (e.startsWith("v:")) return `[=${body}]`;
      if (e.startsWith("i:")) return `[${body}]`;
      const key = JSON.parse(body) as JsonObject;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    })
    .join("");
}

/**
 * Every path a value sets: leaves, atomic lists and maps, list-map items and set values. With
 * `mapsAsMembers`, map-typed fields (labels, annotations) count as members too, as upstream records
 * for fields an update adds.
 */
export function fieldSetOf(
  value: JsonValue,
  schema: TypeSchema | undefined,
  mapsAsMembers = false,
): FieldSet {
  const out: string[][] = [];
  walkMembers(value, { type: schema }, [], (p) => out.push(p), mapsAsMembers);
  return FieldSet.of(out);
}

function walkMembers(
  value: JsonValue,
  field: FieldSchema,
  path: string[],
  emit: (p: string[]) => void,
  mapsAsMembers: boolean,
): void {
  if (isObject(value) && !field.atomic) {
    if (path.length > 0 && mapsAsMembers && field.type?.values !== undefined) emit(path);
    for (const [k, v] of Object.entries(value)) {
      if (v === null) continue;
      walkMembers(v, fieldOf(field.type, k), [...path, `f:${k}`], emit, mapsAsMembers);
    }
  } else if (Array.isArray(value) && field.listType === "map") {
    for (const item of value) {
      const key = keyElement(item, field);
      if (key === undefined) continue;
      emit([...path, key]);
      walkMembers(item, { type: field.type }, [...path, key], emit, mapsAsMembers);
    }
  } else if (Array.isArray(value) && field.listType === "set") {
    for (const item of value) emit([...path, `v:${JSON.stringify(item)}`]);
  } else if (path.length > 0) {
    emit(path);
  }
}

/** The schema of the field a path ends at. */
export function schemaAt(schema: TypeSchema | undefined, path: FieldPathElements): FieldSchema {
  let field: FieldSchema = { type: schema };
  for (const e of path) field = e.startsWith("f:") ? fieldOf(field.type, e.slice(2)) : { type: field.type };
  return field;
}

/** Index of the list item a `k:`/`v:` element names, or -1. */
export function findItem(list: JsonValue[], element: string, field: FieldSchema): number {
  if (element.startsWith("v:")) {
    const want = JSON.parse(element.slice(2)) as JsonValue;
    return list.findIndex((x) => deepEqual(x, want));
  }
  if (element.startsWith("i:")) return Number(element.slice(2));
  return list.findIndex((x) => keyElement(x, field) === element);
}

/** The value at a path, or undefined when it is absent. */
export function valueAt(
  root: JsonValue,
  schema: TypeSchema | undefined,
  path: FieldPathElements,
): JsonValue | undefined {
  let cur: JsonValue | undefined = root;
  let field: FieldSchema = { type: schema };
  for (const e of path) {
    if (e.startsWith("f:")) {
      if (!isObject(cur) || !Object.hasOwn(cur, e.slice(2))) return undefined;
      cur = cur[e.slice(2)];
      field = fieldOf(field.type, e.slice(2));
    } else {
      if (!Array.isArray(cur)) return undefined;
      const i = findItem(cur, e, field);
      if (i < 0) return undefined;
      cur = cur[i];
      field = { type: field.type };
    }
  }
  return cur;
}

/** Removes the field or list item at `path` from `root` in place (no-op when absent). */
export function removeAt(root: JsonValue, schema: TypeSchema | undefined, path: FieldPathElements): void {
  if (path.length === 0) return;
  const parentPath = path.slice(0, -1);
  const parent = valueAt(root, schema, parentPath);
  const last = path[path.length - 1]!;
  if (last.startsWith("f:")) {
    if (isObject(parent)) delete parent[last.slice(2)];
  } else if (Array.isArray(parent)) {
    const i = findItem(parent, last, schemaAt(schema, parentPath));
    if (i >= 0) parent.splice(i, 1);
  }
}
