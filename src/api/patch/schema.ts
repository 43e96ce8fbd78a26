// Per-field merge metadata for the built-in kinds: the `patchStrategy`/`patchMergeKey` tags strategic
// merge patch reads and the `+listType`/`+listMapKey`/`+structType` markers server-side apply reads,
// transcribed from k8s.io/api v0.32 for the fields kite's kinds carry. Fields not listed merge as plain
// maps and replace lists, which is what both mechanisms do for untagged fields.

import type { JsonValue } from "../types.js";

export interface FieldSchema {
  /** SMP patchStrategy tag: "merge", "replace", "retainKeys" or "merge,retainKeys". */
  strategy?: string;
  /** SMP patchMergeKey tag. */
  mergeKey?: string;
  /** SSA list semantics; lists default to atomic. */
  listType?: "atomic" | "set" | "map";
  listMapKeys?: readonly string[];
  /** Values SSA assumes for absent list-map keys (upstream's OpenAPI defaults, e.g. protocol=TCP). */
  keyDefaults?: Readonly<Record<string, JsonValue>>;
  /** SSA: the map or struct is owned as a whole (`+mapType=atomic`, `+structType=atomic`). */
  atomic?: boolean;
  /** Schema of the value when it is an object, or of each element when it is a list. */
  type?: TypeSchema;
}

export interface TypeSchema {
  fields?: Readonly<Record<string, FieldSchema>>;
  /** For map[string]T fields: the schema of every value. */
  values?: FieldSchema;
}

const obj = (fields: Record<string, FieldSchema>): FieldSchema => ({ type: { fields } });
const keyed = (key: string, type?: TypeSchema, ssaKeys?: string[], strategy = "merge"): FieldSchema => ({
  strategy,
  mergeKey: key,
  listType: "map",
  listMapKeys: ssaKeys ?? [key],
  ...(ssaKeys?.includes("protocol") ? { keyDefaults: { protocol: "TCP" } } : {}),
  ...(type ? { type } : {}),
});
const atomic: FieldSchema = { atomic: true };
const conditions = keyed("type");

const stringMap: FieldSchema = { type: { values: {} } };

const objectMeta: FieldSchema = obj({
  labels: stringMap,
  annotations: stringMap,
  ownerReferences: keyed("uid"),
  finalizers: { strategy: "merge", listType: "set" },
  managedFields: atomic,
});

const container: TypeSchema = {
  fields: {
    ports: keyed("containerPort", undefined, ["containerPort", "protocol"]),
    env: keyed("name"),
    volumeMounts: keyed("mountPath"),
    volumeDevices: keyed("devicePath"),
    resources: obj({ claims: keyed("name", undefined, ["name"], "") }),
  },
};

const podSpec: FieldSchema = obj({
  volumes: keyed("name", undefined, ["name"], "merge,retainKeys"),
  initContainers: keyed("name", container),
  containers: keyed("name", container),
  ephemeralContainers: keyed("name", container),
  imagePullSecrets: keyed("name"),
  hostAliases: keyed("ip"),
  topologySpreadConstraints: keyed("topologyKey", undefined, ["topologyKey", "whenUnsatisfiable"]),
  schedulingGates: keyed("name"),
  resourceClaims: keyed("name", undefined, ["name"], "merge,retainKeys"),
  nodeSelector: atomic,
});

const podStatus: FieldSchema = obj({
  conditions,
  podIPs: keyed("ip"),
  hostIPs: { strategy: "merge", mergeKey: "ip", listType: "atomic" },
  resourceClaimStatuses: keyed("name", undefined, ["name"], "merge,retainKeys"),
});

const podTemplateSpec: FieldSchema = obj({ metadata: objectMeta, spec: podSpec });

const workloadSpec = (extra: Record<string, FieldSchema> = {}): FieldSchema =>
  obj({ selector: atomic, template: podTemplateSpec, ...extra });

const withMeta = (fields: Record<string, FieldSchema>): TypeSchema => ({
  fields: { metadata: objectMeta, ...fields },
});

const jobSpec = workloadSpec();

/** Schemas by `group/Kind` ("" group for core). */
export const builtinSchemas: Readonly<Record<string, TypeSchema>> = {
  "/Pod": withMeta({ spec: podSpec, status: podStatus }),
  "/PodTemplate": withMeta({ template: podTemplateSpec }),
  "/ReplicationController": withMeta({
    spec: obj({ selector: atomic, template: podTemplateSpec }),
    status: obj({ conditions }),
  }),
  "/Service": withMeta({
    spec: obj({ ports: keyed("port", undefined, ["port", "protocol"]), selector: atomic }),
    status: obj({ conditions }),
  }),
  "/Node": withMeta({
    spec: obj({ podCIDRs: { strategy: "merge", listType: "set" } }),
    status: obj({ conditions, addresses: keyed("type") }),
  }),
  "/Namespace": withMeta({ status: obj({ conditions }) }),
  "/ServiceAccount": withMeta({ secrets: keyed("name") }),
  "/PersistentVolumeClaim": withMeta({ spec: obj({ selector: atomic }), status: obj({ conditions }) }),
  "/ConfigMap": withMeta({}),
  "/Secret": withMeta({}),
  "/Endpoints": withMeta({}),
  "/Event": withMeta({}),
  "/LimitRange": withMeta({}),
  "/ResourceQuota": withMeta({}),
  "apps/Deployment": withMeta({
    spec: workloadSpec({ strategy: { strategy: "retainKeys" } }),
    status: obj({ conditions }),
  }),
  "apps/ReplicaSet": withMeta({ spec: workloadSpec(), status: obj({ conditions }) }),
  "apps/StatefulSet": withMeta({ spec: workloadSpec(), status: obj({ conditions }) }),
  "apps/DaemonSet": withMeta({ spec: workloadSpec(), status: obj({ conditions }) }),
  "apps/ControllerRevision": withMeta({}),
  "batch/Job": withMeta({ spec: jobSpec, status: obj({ conditions }) }),
  "batch/CronJob": withMeta({
    spec: obj({ jobTemplate: obj({ metadata: objectMeta, spec: jobSpec }) }),
  }),
  "autoscaling/Scale": withMeta({}),
  "coordination.k8s.io/Lease": withMeta({}),
  "discovery.k8s.io/EndpointSlice": withMeta({}),
  "policy/PodDisruptionBudget": withMeta({
    spec: obj({ selector: { strategy: "replace", atomic: true } }),
    status: obj({ conditions }),
  }),
  "networking.k8s.io/Ingress": withMeta({}),
  "networking.k8s.io/NetworkPolicy": withMeta({}),
};

/** The schema for an apiVersion/kind, or undefined for kinds kite does not know (custom resources). */
export function schemaFor(apiVersion: string, kind: string): TypeSchema | undefined {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  return builtinSchemas[`${group}/${kind}`];
}

/** The schema of field `name` inside an object of type `t` (empty when unknown). */
export function fieldOf(t: TypeSchema | undefined, name: string): FieldSchema {
  return t?.fields?.[name] ?? t?.values ?? {};
}
