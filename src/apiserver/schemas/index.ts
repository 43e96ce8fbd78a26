// src/apiserver/schemas owns what the apiserver knows of each served kind's fields, generated from
// upstream's OpenAPI (scripts/gen-kind-schemas.mjs): one source for the /openapi/v3 documents
// (`kubectl explain`) and for fieldValidation's unknown-field check, so the two never disagree.
import { appsTypes } from "./apps.js";
import { batchTypes } from "./batch.js";
import { coreTypes } from "./core.js";
import { corePodTypes } from "./core-pod.js";
import { coreVolumesTypes } from "./core-volumes.js";
import { metaTypes } from "./meta.js";
import { openApiComponents } from "./openapi.js";
import { otherTypes } from "./other.js";
import type { TypeEntry, TypeTable } from "./table.js";

export type { FieldEntry, TypeEntry, TypeTable } from "./table.js";

export const TYPES: TypeTable = {
  ...metaTypes,
  ...coreTypes,
  ...corePodTypes,
  ...coreVolumesTypes,
  ...appsTypes,
  ...batchTypes,
  ...otherTypes,
};

/** Upstream's schema name of a kind: io.k8s.api.<group's first label>.<version>.<Kind>. */
export function kindTypeName(group: string, version: string, kind: string): string {
  const short = group === "" ? "core" : (group.split(".")[0] ?? group);
  return `io.k8s.api.${short}.${version}.${kind}`;
}

/** The generated type of a served kind, or undefined (custom resources, unknown kinds). */
export function kindType(group: string, version: string, kind: string): TypeEntry | undefined {
  return TYPES[kindTypeName(group, version, kind)];
}

/** OpenAPI v3 component schemas of the named types and every type they reach. */
export function kindComponents(names: string[]): Record<string, Record<string, unknown>> {
  return openApiComponents(TYPES, names);
}

const MAX_DEPTH = 64;

/**
 * The paths of fields the type does not declare, in document order, as upstream's strict decoder
 * names them: "spec.foo", "spec.template.spec.containers[0].foo", map values as "data.key".
 */
export function unknownFields(value: unknown, typeName: string): string[] {
  const out: string[] = [];
  walkType(value, typeName, "", out, 0);
  return out;
}

/** Removes the fields unknownFields reports, in place: what upstream's typed decoding drops. */
export function pruneUnknownFields(value: unknown, typeName: string): void {
  walkType(value, typeName, "", [], 0, true);
}

function walkType(
  value: unknown,
  typeName: string,
  path: string,
  out: string[],
  depth: number,
  prune = false,
): void {
  const type = TYPES[typeName];
  if (type === undefined || depth > MAX_DEPTH) return;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const here = path === "" ? key : `${path}.${key}`;
    const field = type.f[key];
    if (field === undefined) {
      out.push(here);
      if (prune) delete (value as Record<string, unknown>)[key];
    } else walkCode(v, field[0], here, out, depth + 1, prune);
  }
}

function walkCode(
  value: unknown,
  code: string,
  path: string,
  out: string[],
  depth: number,
  prune: boolean,
): void {
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return;
  if (code.startsWith("#")) {
    walkType(value, code.slice(1), path, out, depth, prune);
  } else if (code.startsWith("[]")) {
    if (!Array.isArray(value)) return;
    for (let i = 0; i < value.length; i++)
      walkCode(value[i], code.slice(2), `${path}[${i}]`, out, depth + 1, prune);
  } else if (code.startsWith("map:") && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value))
      walkCode(v, code.slice(4), `${path}.${k}`, out, depth + 1, prune);
  }
}

/** How a list element is named in a path; by default "[i]". */
export type ElementLabel = (listField: string[], element: unknown, index: number) => string;

/**
 * unknownFields with list elements named by `label` and the path as a list of field names, for
 * callers that spell paths their own way (server-side apply's ".a.b[name=\"x\"].c").
 */
export function unknownFieldPaths(value: unknown, typeName: string, label: ElementLabel): string[][] {
  const out: string[][] = [];
  const visitType = (v: unknown, tn: string, path: string[], depth: number): void => {
    const type = TYPES[tn];
    if (type === undefined || depth > MAX_DEPTH || v === null || typeof v !== "object" || Array.isArray(v))
      return;
    for (const [key, x] of Object.entries(v)) {
      const field = type.f[key];
      if (field === undefined) out.push([...path, key]);
      else visitCode(x, field[0], [...path, key], depth + 1);
    }
  };
  const visitCode = (v: unknown, code: string, path: string[], depth: number): void => {
    if (v === null || typeof v !== "object" || depth > MAX_DEPTH) return;
    if (code.startsWith("#")) visitType(v, code.slice(1), path, depth);
    else if (code.startsWith("[]") && Array.isArray(v)) {
      const last = path.length - 1;
      for (let i = 0; i < v.length; i++) {
        const el = [...path.slice(0, last), `${path[last]}${label(path, v[i], i)}`];
        visitCode(v[i], code.slice(2), el, depth + 1);
      }
    } else if (code.startsWith("map:") && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) visitCode(x, code.slice(4), [...path, k], depth + 1);
    }
  };
  visitType(value, typeName, [], 0);
  return out;
}
