// The schemas of each group-version document: every served kind's from the generated tables of
// src/apiserver/schemas (the same ones fieldValidation checks bodies against) with the types they
// reach, tagged with the group-version-kind `kubectl explain` looks them up by; a kind without a
// generated type gets a generic object that preserves unknown fields; and each kind's list.
import { kindComponents, kindType, kindTypeName } from "../schemas/index.js";
import type { ResourceDef } from "../types.js";
import { arrayOf, free, object, type Schema, str } from "./openapi-schemas.js";

export function schemaName(group: string, version: string, kind: string): string {
  return kindTypeName(group, version, kind);
}

const API_VERSION =
  "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.";
const KIND =
  "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.";

function genericSchema(def: ResourceDef): Schema {
  return {
    ...object(`${def.kind} is a ${def.group === "" ? "core" : def.group} ${def.version} resource.`, {
      apiVersion: str(API_VERSION),
      kind: str(KIND),
      metadata: free("Standard object's metadata."),
      spec: free(`Specification of the desired behavior of the ${def.kind}.`),
      status: free(`Most recently observed status of the ${def.kind}. Populated by the system. Read-only.`),
    }),
    "x-kubernetes-preserve-unknown-fields": true,
  };
}

export function listSchema(def: ResourceDef): Schema {
  return {
    ...object(
      `${def.listKind} is a list of ${def.kind} objects.`,
      {
        apiVersion: str(API_VERSION),
        kind: str(KIND),
        metadata: free("Standard list metadata."),
        items: arrayOf(schemaName(def.group, def.version, def.kind), `List of ${def.resource}.`),
      },
      ["items"],
    ),
    "x-kubernetes-group-version-kind": [{ group: def.group, kind: def.listKind, version: def.version }],
  };
}

/** Component schemas for a document serving these resources: kinds, the types they reach, lists. */
export function documentSchemas(defs: ResourceDef[]): Record<string, Schema> {
  const generated = defs.filter((d) => kindType(d.group, d.version, d.kind) !== undefined);
  const schemas: Record<string, Schema> = kindComponents(
    generated.map((d) => kindTypeName(d.group, d.version, d.kind)),
  );
  for (const def of defs) {
    const name = schemaName(def.group, def.version, def.kind);
    schemas[name] = {
      ...(schemas[name] ?? genericSchema(def)),
      "x-kubernetes-group-version-kind": [{ group: def.group, kind: def.kind, version: def.version }],
    };
    schemas[schemaName(def.group, def.version, def.listKind)] = listSchema(def);
  }
  return schemas;
}
