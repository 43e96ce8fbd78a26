// The schema of each kind in the OpenAPI v3 documents: hand-written top-level fields with
// descriptions for the kinds kubectl users explain most (so `kubectl explain deployment` and
// `kubectl explain pod.spec` print something meaningful); every other kind gets a generic object
// whose spec/status preserve unknown fields. Each is tagged with its group-version-kind, which is
// how explain finds it.
import type { ResourceDef } from "../types.js";
import {
  APPS,
  arrayOf,
  bool,
  CORE,
  free,
  META,
  object,
  ref,
  type Schema,
  str,
  strMap,
} from "./openapi-schemas.js";

export function schemaName(group: string, version: string, kind: string): string {
  const short = group === "" ? "core" : (group.split(".")[0] ?? group);
  return `io.k8s.api.${short}.${version}.${kind}`;
}

/** The envelope every kind has: apiVersion, kind, metadata, plus its own fields. */
function topLevel(description: string, fields: Record<string, Schema>): Schema {
  return object(description, {
    apiVersion: str(
      "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.",
    ),
    kind: str(
      "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.",
    ),
    metadata: ref(`${META}.ObjectMeta`, "Standard object's metadata."),
    ...fields,
  });
}

/** Per-kind fields beyond the envelope, for the kinds kubectl users explain most. */
const KIND_FIELDS: Record<string, { description: string; fields: Record<string, Schema> }> = {
  "/Pod": {
    description:
      "Pod is a collection of containers that can run on a host. This resource is created by clients and scheduled onto hosts.",
    fields: {
      spec: ref(`${CORE}.PodSpec`, "Specification of the desired behavior of the pod."),
      status: ref(
        `${CORE}.PodStatus`,
        "Most recently observed status of the pod. This data may not be up to date. Populated by the system. Read-only.",
      ),
    },
  },
  "apps/Deployment": {
    description: "Deployment enables declarative updates for Pods and ReplicaSets.",
    fields: {
      spec: ref(`${APPS}.DeploymentSpec`, "Specification of the desired behavior of the Deployment."),
      status: ref(`${APPS}.DeploymentStatus`, "Most recently observed status of the Deployment."),
    },
  },
  "/Service": {
    description:
      "Service is a named abstraction of software service (for example, mysql) consisting of local port (for example 3306) that the proxy listens on, and the selector that determines which pods will answer requests sent through the proxy.",
    fields: {
      spec: ref(`${CORE}.ServiceSpec`, "Spec defines the behavior of a service."),
      status: free("Most recently observed status of the service. Populated by the system. Read-only."),
    },
  },
  "/ConfigMap": {
    description: "ConfigMap holds configuration data for pods to consume.",
    fields: {
      data: strMap(
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'.",
      ),
      binaryData: {
        type: "object",
        additionalProperties: { type: "string", format: "byte" },
        description: "BinaryData contains the binary data.",
      },
      immutable: bool(
        "Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated.",
      ),
    },
  },
  "/Namespace": {
    description: "Namespace provides a scope for Names. Use of multiple namespaces is optional.",
    fields: {
      spec: free("Spec defines the behavior of the Namespace."),
      status: free("Status describes the current status of a Namespace."),
    },
  },
};

/** The schema of a kind, tagged with its group-version-kind as explain looks it up. */
export function kindSchema(def: ResourceDef): Schema {
  const known = KIND_FIELDS[`${def.group}/${def.kind}`];
  const schema = known
    ? topLevel(known.description, known.fields)
    : {
        ...topLevel(`${def.kind} is a ${def.group === "" ? "core" : def.group} ${def.version} resource.`, {
          spec: free(`Specification of the desired behavior of the ${def.kind}.`),
          status: free(
            `Most recently observed status of the ${def.kind}. Populated by the system. Read-only.`,
          ),
        }),
        "x-kubernetes-preserve-unknown-fields": true,
      };
  return {
    ...schema,
    "x-kubernetes-group-version-kind": [{ group: def.group, kind: def.kind, version: def.version }],
  };
}

export function listSchema(def: ResourceDef): Schema {
  return {
    ...object(
      `${def.listKind} is a list of ${def.kind} objects.`,
      {
        apiVersion: str("APIVersion defines the versioned schema of this representation of an object."),
        kind: str("Kind is a string value representing the REST resource this object represents."),
        metadata: free("Standard list metadata."),
        items: arrayOf(schemaName(def.group, def.version, def.kind), `List of ${def.resource}.`),
      },
      ["items"],
    ),
    "x-kubernetes-group-version-kind": [{ group: def.group, kind: def.listKind, version: def.version }],
  };
}
