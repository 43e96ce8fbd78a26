// Generates src/apiserver/schemas/<group>.ts: the field trees of every kind the apiserver serves,
// from the models @kubernetes/client-node generates out of upstream's OpenAPI (field names, types,
// formats and required fields from attributeTypeMap and the .d.ts, descriptions from its JSDoc,
// shortened to their first sentences). Run: node scripts/gen-kind-schemas.mjs (then biome format).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const models = join(dirname(require.resolve("@kubernetes/client-node/package.json")), "dist/gen/models");
const out = new URL("../src/apiserver/schemas/", import.meta.url);

/** Served kinds: [client-node class, group, version]. */
const ROOTS = [
  ["V1Namespace", "", "v1"],
  ["V1Pod", "", "v1"],
  ["V1Service", "", "v1"],
  ["V1Endpoints", "", "v1"],
  ["V1Node", "", "v1"],
  ["CoreV1Event", "", "v1"],
  ["V1ConfigMap", "", "v1"],
  ["V1Secret", "", "v1"],
  ["V1ServiceAccount", "", "v1"],
  ["V1ResourceQuota", "", "v1"],
  ["V1LimitRange", "", "v1"],
  ["V1Binding", "", "v1"],
  ["V1PodTemplateSpec", "", "v1"],
  ["V1PersistentVolumeClaim", "", "v1"],
  ["V1Deployment", "apps", "v1"],
  ["V1ReplicaSet", "apps", "v1"],
  ["V1DaemonSet", "apps", "v1"],
  ["V1StatefulSet", "apps", "v1"],
  ["V1Job", "batch", "v1"],
  ["V1CronJob", "batch", "v1"],
  ["V1Lease", "coordination.k8s.io", "v1"],
  ["V1EndpointSlice", "discovery.k8s.io", "v1"],
  ["V1Ingress", "networking.k8s.io", "v1"],
  ["V1Role", "rbac.authorization.k8s.io", "v1"],
  ["V1ClusterRole", "rbac.authorization.k8s.io", "v1"],
  ["V1RoleBinding", "rbac.authorization.k8s.io", "v1"],
  ["V1ClusterRoleBinding", "rbac.authorization.k8s.io", "v1"],
  ["V1Scale", "autoscaling", "v1"],
  ["V1Eviction", "policy", "v1"],
];
const META_TYPES = new Set([
  "ObjectMeta",
  "ListMeta",
  "LabelSelector",
  "LabelSelectorRequirement",
  "OwnerReference",
  "ManagedFieldsEntry",
  "Condition",
  "DeleteOptions",
  "Preconditions",
]);
const FILES = {
  meta: "meta",
  core: "core",
  apps: "apps",
  batch: "batch",
  coordination: "other",
  discovery: "other",
  networking: "other",
  rbac: "other",
  autoscaling: "other",
  policy: "other",
};

const shortKind = (cls) =>
  cls.replace(/^(Core|Discovery|Events|Networking|Storage|Rbac|Policy)?V\d+(beta\d+|alpha\d+)?/, "");

function shorten(text) {
  let t = text.replace(/\\'/g, "'").replace(/\\"/g, '"').replace(/\s+/g, " ").trim();
  t = t.split(" More info:")[0].trim();
  const sentences = t.match(/[^.]+(?:\.(?=\s|$)|$)/g) ?? [t];
  let outText = "";
  for (const s of sentences) {
    if (outText.length > 0 && outText.length + s.length > 220) break;
    outText += s;
  }
  return outText.trim();
}

function readModel(cls) {
  const js = require(join(models, `${cls}.js`));
  const map = js[cls].attributeTypeMap;
  const dts = readFileSync(join(models, `${cls}.d.ts`), "utf8");
  const classDoc = /\/\*\*\n\* ?([\s\S]*?)\n\*\/\nexport declare class/.exec(dts)?.[1] ?? "";
  const docs = {};
  const required = [];
  const fieldRe = /(?:\/\*\*\n\s*\* ?((?:(?!\*\/)[\s\S])*?)\n\s*\*\/\n)?\s*'([\w$-]+)'(\?)?:/g;
  for (let m = fieldRe.exec(dts); m; m = fieldRe.exec(dts)) {
    if (m[1]) docs[m[2]] = shorten(m[1].replace(/\n\s*\* ?/g, " "));
    if (!m[3]) required.push(m[2]);
  }
  return { map, doc: shorten(classDoc.replace(/\n\* ?/g, " ")), docs, required };
}

const names = new Map(); // class → upstream schema name
const groupOf = new Map(); // class → group short name
const rootOf = new Map(); // class → the served kind it was first reached from
const tables = {}; // file → { name → entry }
const queue = [];

function nameFor(cls, group, version, root = cls) {
  if (!names.has(cls)) {
    rootOf.set(cls, root);
    const kind = shortKind(cls);
    const short = META_TYPES.has(kind) ? "meta" : group === "" ? "core" : group.split(".")[0];
    names.set(
      cls,
      short === "meta"
        ? `io.k8s.apimachinery.pkg.apis.meta.v1.${kind}`
        : `io.k8s.api.${short}.${version}.${kind}`,
    );
    groupOf.set(cls, short);
    queue.push([cls, group, version]);
  }
  return names.get(cls);
}

function code(type, format, group, version, root) {
  if (type.startsWith("Array<")) return `[]${code(type.slice(6, -1), format, group, version, root)}`;
  const map = /^\{ \[key: string\]: (.*); \}$/.exec(type);
  if (map) return `map:${code(map[1], format, group, version, root)}`;
  if (format === "date-time-micro") return "micro-time";
  if (type === "string") return format === "byte" ? "byte" : "string";
  if (type === "number") return format === "int64" ? "int64" : format === "double" ? "double" : "int32";
  if (type === "boolean") return "boolean";
  if (type === "Date") return format === "date-time-micro" ? "micro-time" : "date-time";
  if (type === "IntOrString") return "int-or-string";
  if (type === "any" || type === "object") return "any";
  if (/^[A-Z]/.test(type)) return `#${nameFor(type, group, version, root)}`;
  throw new Error(`unknown type ${type}`);
}

// Each root is drained before the next, so a type reachable from a core kind is named core.
function drain() {
  while (queue.length > 0) {
    const [cls, group, version] = queue.shift();
    const model = readModel(cls);
    const fields = {};
    for (const a of model.map) {
      const c = code(a.type, a.format, group, version, rootOf.get(cls));
      const d = model.docs[a.baseName];
      fields[a.baseName] = d ? [c, d] : [c];
    }
    let file = FILES[groupOf.get(cls)];
    if (
      file === "core" &&
      /Volume|Source$|Projection|KeyToPath|DownwardAPI|ClaimTemplate|PersistentVolumeClaim/.test(cls)
    )
      file = "coreVolumes";
    else if (file === "core" && rootOf.get(cls) === "V1Pod") file = "corePod";
    tables[file] ??= {};
    const entry = { d: model.doc, f: fields };
    const req = model.required.filter((r) => fields[r] !== undefined);
    if (req.length > 0) entry.r = req;
    tables[file][names.get(cls)] = entry;
  }
}
for (const [cls, group, version] of ROOTS) {
  nameFor(cls, group, version);
  drain();
}

const fileNames = { coreVolumes: "core-volumes", corePod: "core-pod" };
for (const [file, table] of Object.entries(tables)) {
  const types = Object.entries(table).sort(([a], [b]) => a.localeCompare(b));
  const lines = [];
  for (const [name, entry] of types) {
    lines.push(`  ${JSON.stringify(name)}: {`);
    lines.push(`    d: ${JSON.stringify(entry.d)},`);
    if (entry.r) lines.push(`    r: ${JSON.stringify(entry.r)},`);
    lines.push("    f: {");
    for (const [f, v] of Object.entries(entry.f))
      lines.push(`      ${JSON.stringify(f)}: ${JSON.stringify(v)},`);
    lines.push("    },");
    lines.push("  },");
  }
  const text = `// Generated by scripts/gen-kind-schemas.mjs from @kubernetes/client-node's models of upstream's
// OpenAPI: field names, types and required fields are upstream's; descriptions are shortened.
import type { TypeTable } from "./table.js";

export const ${file}Types: TypeTable = {
${lines.join("\n")}
};
`;
  writeFileSync(new URL(`${fileNames[file] ?? file}.ts`, out), text);
  console.log(`${file}: ${types.length} types, ${text.length} bytes`);
}
