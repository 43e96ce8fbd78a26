// What every resource shares: ObjectMeta validation (names, namespaces, labels, annotations, as
// apimachinery's ValidateObjectMeta words it), the status/spec separation and generation bumping of
// upstream's registry strategies, and the builder that turns a short description into a ResourceDef.

import {
  type FieldError,
  type FieldGetter,
  fieldErrors,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  type KubeObject,
} from "../../api/index.js";
import type { ResourceDef, TablePrinter, WriteContext } from "../types.js";

export type NameValidator = (name: string) => string[];

export const nameIsDNSSubdomain: NameValidator = isDNS1123Subdomain;
export const nameIsDNSLabel: NameValidator = isDNS1123Label;
export const nameIsDNS1035Label: NameValidator = isDNS1035Label;

/** RBAC names are path segments (path.ValidatePathSegmentName). */
export const nameIsPathSegment: NameValidator = (name) => {
  if (name === "." || name === "..") return [`may not be '${name}'`];
  const errs: string[] = [];
  for (const illegal of ["/", "%"]) if (name.includes(illegal)) errs.push(`may not contain '${illegal}'`);
  return errs;
};

const totalAnnotationSizeLimit = 256 * 1024;

export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (labels === undefined || labels === null) return errs;
  if (typeof labels !== "object" || Array.isArray(labels))
    return [fieldErrors.invalid(path, labels, "must be a map of string keys to string values")];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const msg of isQualifiedName(k)) errs.push(fieldErrors.invalid(path, k, msg));
    if (typeof v !== "string") {
      errs.push(fieldErrors.invalid(path, v, "must be a string"));
      continue;
    }
    for (const msg of isValidLabelValue(v)) errs.push(fieldErrors.invalid(path, v, msg));
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (annotations === undefined || annotations === null) return errs;
  if (typeof annotations !== "object" || Array.isArray(annotations))
    return [fieldErrors.invalid(path, annotations, "must be a map of string keys to string values")];
  let total = 0;
  for (const [k, v] of Object.entries(annotations as Record<string, unknown>)) {
    for (const msg of isQualifiedName(k.toLowerCase())) errs.push(fieldErrors.invalid(path, k, msg));
    total += Buffer.byteLength(k) + Buffer.byteLength(typeof v === "string" ? v : String(v));
  }
  if (total > totalAnnotationSizeLimit) errs.push(fieldErrors.tooLong(path, totalAnnotationSizeLimit));
  return errs;
}

/** ValidateObjectMeta: name (or generateName), namespace presence, labels, annotations, finalizers. */
export function validateObjectMeta(
  obj: KubeObject,
  namespaced: boolean,
  nameFn: NameValidator,
): FieldError[] {
  const errs: FieldError[] = [];
  const meta = obj.metadata;
  if (meta === undefined || meta === null || typeof meta !== "object") {
    return [fieldErrors.required("metadata.name", "name or generateName is required")];
  }
  const name = meta.name;
  if (typeof name === "string" && name !== "") {
    const msgs = nameFn(name);
    if (msgs.length > 0) errs.push(fieldErrors.invalidName("metadata.name", name, msgs));
  } else if (typeof meta.generateName !== "string" || meta.generateName === "") {
    errs.push(fieldErrors.required("metadata.name", "name or generateName is required"));
  }
  const ns = meta.namespace;
  if (namespaced) {
    if (typeof ns !== "string" || ns === "") errs.push(fieldErrors.required("metadata.namespace"));
    else {
      const msgs = isDNS1123Label(ns);
      if (msgs.length > 0) errs.push(fieldErrors.invalidName("metadata.namespace", ns, msgs));
    }
  } else if (typeof ns === "string" && ns !== "") {
    errs.push(fieldErrors.forbidden("metadata.namespace", "not allowed on this type"));
  }
  errs.push(...validateLabels(meta.labels, "metadata.labels"));
  errs.push(...validateAnnotations(meta.annotations, "metadata.annotations"));
  const finalizers = Array.isArray(meta.finalizers) ? meta.finalizers : [];
  finalizers.forEach((f, i) => {
    if (typeof f !== "string") return;
    for (const msg of isQualifiedName(f)) errs.push(fieldErrors.invalid(`metadata.finalizers[${i}]`, f, msg));
  });
  return errs;
}

/** Equality of JSON values, key order aside; an absent field equals an undefined one. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}

function copyField(
  dst: Record<string, unknown>,
  src: Record<string, unknown> | undefined,
  key: string,
): void {
  if (src !== undefined && src[key] !== undefined) dst[key] = structuredClone(src[key]);
  else delete dst[key];
}

/** The metadata a status write may not change (metav1.ResetObjectMetaForStatus). */
const statusLockedMeta = [
  "deletionTimestamp",
  "generation",
  "labels",
  "annotations",
  "finalizers",
  "ownerReferences",
] as const;

/** A status write keeps everything of the stored object but its status. */
export function keepAllButStatus(
  obj: KubeObject,
  old: KubeObject,
  locked: readonly string[] = statusLockedMeta,
): void {
  for (const key of Object.keys(obj)) {
    if (key !== "metadata" && key !== "status" && key !== "apiVersion" && key !== "kind") delete obj[key];
  }
  for (const [key, value] of Object.entries(old)) {
    if (key !== "metadata" && key !== "status" && key !== "apiVersion" && key !== "kind")
      obj[key] = structuredClone(value);
  }
  obj.metadata ??= {};
  const meta = obj.metadata as Record<string, unknown>;
  for (const key of locked) copyField(meta, old.metadata as Record<string, unknown>, key);
}

export interface ResourceSpec {
  group: string;
  version: string;
  kind: string;
  resource: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: string[];
  verbs?: string[];
  singular?: string;
  /** Name rule; DNS-1123 subdomain unless upstream says otherwise. */
  name?: NameValidator;
  fields?: { supported: readonly string[]; get: FieldGetter };
  table?: TablePrinter;
  defaults?(obj: KubeObject): void;
  /** Kind-specific checks; ObjectMeta is checked by the builder. */
  validate?(obj: KubeObject, old: KubeObject | undefined): FieldError[];
  /**
   * The kind has a status only the status subresource writes. A function gives the status a
   * new object starts with; `true` starts it empty.
   */
  status?: boolean | ((obj: KubeObject) => Record<string, unknown>);
  /** The creator writes the first status itself (nodes: the kubelet registers with its status). */
  keepStatusOnCreate?: boolean;
  /**
   * The metadata a status write keeps from the stored object; default upstream's
   * ResetObjectMetaForStatus set. Deployments lock only labels, so their controller can record
   * the revision annotation through status as upstream's does.
   */
  statusLockedMeta?: readonly string[];
  /** Spec changes bump metadata.generation; "spec+annotations" as deployments do. */
  generation?: "spec" | "spec+annotations";
  /** Extra create/update steps after the common ones (e.g. namespace finalizers, job selectors). */
  onCreate?(obj: KubeObject, ctx: WriteContext): void;
  onUpdate?(obj: KubeObject, old: KubeObject, ctx: WriteContext): void;
}

export const standardVerbs = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

/** Malformed metadata fails validation; the other hooks leave such an object alone. */
function wellFormedMeta(obj: KubeObject): boolean {
  return obj.metadata === undefined || isObject(obj.metadata);
}

/** Builds a ResourceDef with upstream's common strategy behaviour around the kind's own hooks. */
export function defineResource(spec: ResourceSpec): ResourceDef {
  const nameFn = spec.name ?? nameIsDNSSubdomain;
  const status = spec.status;
  const generation = spec.generation;
  const def: ResourceDef = {
    group: spec.group,
    version: spec.version,
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    resource: spec.resource,
    singular: spec.singular ?? spec.kind.toLowerCase(),
    namespaced: spec.namespaced,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    verbs: spec.verbs ?? standardVerbs,
    subresources: spec.subresources ?? [],
    hasGeneration: generation !== undefined,
    validate(obj, old) {
      if (!wellFormedMeta(obj)) return [fieldErrors.invalid("metadata", obj.metadata, "must be an object")];
      const errs = validateObjectMeta(obj, spec.namespaced, nameFn);
      if (spec.validate) errs.push(...spec.validate(obj, old));
      return errs;
    },
    prepareForCreate(obj, ctx) {
      if (!wellFormedMeta(obj)) return;
      if (status !== undefined && status !== false && !spec.keepStatusOnCreate) {
        if (typeof status === "function") obj.status = status(obj);
        else delete obj.status;
      }
      if (generation !== undefined) {
        obj.metadata ??= {};
        obj.metadata.generation = 1;
      }
      spec.onCreate?.(obj, ctx);
    },
    prepareForUpdate(obj, old, ctx) {
      if (!wellFormedMeta(obj) || !wellFormedMeta(old)) return;
      obj.metadata ??= {};
      // Clients cannot set generation; only a spec change moves it.
      if (old.metadata?.generation !== undefined) obj.metadata.generation = old.metadata.generation;
      else delete obj.metadata.generation;
      if (ctx.subresource === "status" && status) {
        keepAllButStatus(obj, old, spec.statusLockedMeta);
      } else {
        if (status) copyField(obj, old, "status");
        const changed =
          generation !== undefined &&
          (!deepEqual(obj.spec, old.spec) ||
            (generation === "spec+annotations" &&
              !deepEqual(obj.metadata.annotations, old.metadata?.annotations)));
        if (changed) obj.metadata.generation = (old.metadata?.generation ?? 0) + 1;
      }
      spec.onUpdate?.(obj, old, ctx);
    },
  };
  if (spec.fields) def.fields = spec.fields;
  if (spec.table) def.table = spec.table;
  const defaults = spec.defaults;
  if (defaults)
    def.defaults = (obj) => {
      if (wellFormedMeta(obj)) defaults(obj);
    };
  return def;
}

/**
 * A JSON object from a request body, read field by field. Like KubeObject's open fields it stays
 * untyped: each kind's code checks the shapes it relies on.
 */
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked where they are read
export type JsonMap = Record<string, any>;

/** A JSON array whose elements are checked where they are read. */
// biome-ignore lint/suspicious/noExplicitAny: as JsonMap
export type JsonList = any[];

/** An object-valued child, created when absent (for defaulting nested structs). */
export function child(parent: Record<string, unknown>, key: string): JsonMap {
  const v = parent[key];
  if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as JsonMap;
  const fresh: JsonMap = {};
  parent[key] = fresh;
  return fresh;
}

/** Sets `obj[key] = value` when the field is absent or null. */
export function setDefault(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (obj[key] === undefined || obj[key] === null) obj[key] = value;
}

export function isObject(v: unknown): v is JsonMap {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function asArray(v: unknown): JsonList {
  return Array.isArray(v) ? v : [];
}

/** The field is immutable once set (ValidateImmutableField). */
export function immutable(path: string, value: unknown, old: unknown): FieldError[] {
  return deepEqual(value, old) ? [] : [fieldErrors.invalid(path, value, "field is immutable")];
}
