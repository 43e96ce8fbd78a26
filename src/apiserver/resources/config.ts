// core/v1 configuration and policy kinds: configmaps, secrets, serviceaccounts, resourcequotas and
// limitranges, with upstream's key rules, immutability, defaults and table columns.

import {
  builtinFieldGetters,
  type FieldError,
  fieldErrors,
  type KubeObject,
  parseQuantity,
  QuantityError,
  regexError,
} from "../../api/index.js";
import { age, ageColumn, col, defaultTable, nameColumn, str } from "./format.js";
import { asArray, child, deepEqual, defineResource, isObject, setDefault } from "./meta.js";

const configKeyFmt = "[-._a-zA-Z0-9]+";
const configKeyRe = /^[-._a-zA-Z0-9]+$/;

/** validation.IsConfigMapKey, used for configmap and secret keys. */
export function isConfigMapKey(key: string): string[] {
  const errs: string[] = [];
  if (Buffer.byteLength(key) > 253) errs.push("must be no more than 253 characters");
  if (!configKeyRe.test(key))
    errs.push(
      regexError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        configKeyFmt,
        "key.name",
        "KEY_NAME",
        "key-name",
      ),
    );
  if (key === ".") errs.push("must not be '.'");
  else if (key === "..") errs.push("must not be '..'");
  else if (key.startsWith("..")) errs.push("must not start with '..'");
  return errs;
}

function validateKeys(data: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(data)) return errs;
  for (const key of Object.keys(data))
    for (const msg of isConfigMapKey(key)) errs.push(fieldErrors.invalid(`${field}[${key}]`, key, msg));
  return errs;
}

const immutableMsg = "field is immutable when `immutable` is set";

/** ValidateConfigMapUpdate / ValidateSecretUpdate: data is frozen once `immutable: true`. */
function validateImmutableData(obj: KubeObject, old: KubeObject, fields: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (obj.immutable !== true) errs.push(fieldErrors.forbidden("immutable", immutableMsg));
  for (const f of fields) if (!deepEqual(obj[f], old[f])) errs.push(fieldErrors.forbidden(f, immutableMsg));
  return errs;
}

export const configmaps = defineResource({
  group: "",
  version: "v1",
  kind: "ConfigMap",
  resource: "configmaps",
  namespaced: true,
  shortNames: ["cm"],
  table: {
    columns: [nameColumn, col("Data", "Data contains the configuration data."), ageColumn],
    cells: (cm, now) => [
      str(cm.metadata?.name),
      Object.keys(isObject(cm.data) ? cm.data : {}).length +
        Object.keys(isObject(cm.binaryData) ? cm.binaryData : {}).length,
      age(cm, now),
    ],
  },
  validate(cm, old) {
    const errs = [...validateKeys(cm.data, "data"), ...validateKeys(cm.binaryData, "binaryData")];
    if (isObject(cm.data) && isObject(cm.binaryData))
      for (const key of Object.keys(cm.data))
        if (key in cm.binaryData)
          errs.push(fieldErrors.invalid(`data[${key}]`, key, "duplicate of key present in binaryData"));
    if (old) errs.push(...validateImmutableData(cm, old, ["data", "binaryData"]));
    return errs;
  },
});

const secretRequiredKeys: Record<string, string[]> = {
  "kubernetes.io/tls": ["tls.crt", "tls.key"],
  "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
  "kubernetes.io/dockercfg": [".dockercfg"],
};

export const secrets = defineResource({
  group: "",
  version: "v1",
  kind: "Secret",
  resource: "secrets",
  namespaced: true,
  fields: builtinFieldGetters.Secret,
  table: {
    columns: [
      nameColumn,
      col("Type", "Used to facilitate programmatic handling of secret data."),
      col("Data", "Data contains the secret data."),
      ageColumn,
    ],
    cells: (s, now) => [
      str(s.metadata?.name),
      str(s.type),
      Object.keys(isObject(s.data) ? s.data : {}).length,
      age(s, now),
    ],
  },
  defaults(secret) {
    setDefault(secret, "type", "Opaque");
    // stringData is write-only: it lands in data, base64 encoded, as upstream's conversion does.
    if (isObject(secret.stringData)) {
      const data = child(secret, "data");
      for (const [k, v] of Object.entries(secret.stringData))
        data[k] = Buffer.from(String(v)).toString("base64");
      delete secret.stringData;
    }
  },
  validate(secret, old) {
    const errs = validateKeys(secret.data, "data");
    const data = isObject(secret.data) ? secret.data : {};
    for (const key of secretRequiredKeys[str(secret.type)] ?? [])
      if (!(key in data)) errs.push(fieldErrors.required(`data[${key}]`));
    if (old) {
      if (old.type !== undefined && secret.type !== old.type)
        errs.push(fieldErrors.invalid("type", secret.type ?? "", "field is immutable"));
      errs.push(...validateImmutableData(secret, old, ["data"]));
    }
    return errs;
  },
});

export const serviceaccounts = defineResource({
  group: "",
  version: "v1",
  kind: "ServiceAccount",
  resource: "serviceaccounts",
  namespaced: true,
  shortNames: ["sa"],
  table: {
    columns: [
      nameColumn,
      col(
        "Secrets",
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
      ),
      ageColumn,
    ],
    cells: (sa, now) => [str(sa.metadata?.name), asArray(sa.secrets).length, age(sa, now)],
  },
});

function quantityText(v: unknown): string {
  try {
    return parseQuantity(v as string | number).toString();
  } catch {
    return String(v);
  }
}

function validateQuantities(list: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(list)) return errs;
  for (const [name, value] of Object.entries(list)) {
    try {
      parseQuantity(value as string | number);
    } catch (err) {
      if (!(err instanceof QuantityError)) throw err;
      errs.push(fieldErrors.invalid(`${path}[${name}]`, value, err.message));
    }
  }
  return errs;
}

export const resourcequotas = defineResource({
  group: "",
  version: "v1",
  kind: "ResourceQuota",
  resource: "resourcequotas",
  namespaced: true,
  shortNames: ["quota"],
  subresources: ["status"],
  status: true,
  table: {
    columns: [
      nameColumn,
      col("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
      col(
        "Limit",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
      ),
      ageColumn,
    ],
    cells(q, now) {
      const hard = isObject(q.status?.hard) ? q.status.hard : {};
      const used = isObject(q.status?.used) ? q.status.used : {};
      const requests: string[] = [];
      const limits: string[] = [];
      for (const name of Object.keys(hard).sort()) {
        const entry = `${name}: ${quantityText(used[name] ?? "0")}/${quantityText(hard[name])}`;
        const parts = name.split(".");
        if (parts.length > 1 && parts[0] === "limits") limits.push(entry);
        else requests.push(entry);
      }
      return [str(q.metadata?.name), requests.join(", "), limits.join(", "), age(q, now)];
    },
  },
  validate: (q) => [
    ...validateQuantities(q.spec?.hard, "spec.hard"),
    ...validateQuantities(q.status?.hard, "status.hard"),
    ...validateQuantities(q.status?.used, "status.used"),
  ],
});

export const limitranges = defineResource({
  group: "",
  version: "v1",
  kind: "LimitRange",
  resource: "limitranges",
  namespaced: true,
  shortNames: ["limits"],
  table: defaultTable,
  defaults(lr) {
    // SetDefaults_LimitRangeItem: a container's default request falls back to its default limit, then max.
    for (const item of asArray(lr.spec?.limits)) {
      if (!isObject(item) || item.type !== "Container") continue;
      const def = child(item, "default");
      const defaultRequest = child(item, "defaultRequest");
      for (const [k, v] of Object.entries(isObject(item.max) ? item.max : {})) setDefault(def, k, v);
      for (const [k, v] of Object.entries(def)) setDefault(defaultRequest, k, v);
      if (Object.keys(def).length === 0) delete item.default;
      if (Object.keys(defaultRequest).length === 0) delete item.defaultRequest;
    }
  },
  validate(lr) {
    const errs: FieldError[] = [];
    asArray(lr.spec?.limits).forEach((item, i) => {
      for (const f of ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"])
        errs.push(...validateQuantities(item?.[f], `spec.limits[${i}].${f}`));
    });
    return errs;
  },
});
