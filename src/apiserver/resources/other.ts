// The remaining groups: coordination.k8s.io leases, discovery.k8s.io endpointslices,
// networking.k8s.io ingresses and the rbac.authorization.k8s.io kinds (stored; RBAC enforcement
// comes later), each with upstream's defaults, basic checks and table columns.

import { type FieldError, fieldErrors, type KubeObject } from "../../api/index.js";
import type { ResourceDef, TablePrinter } from "../types.js";
import { age, ageColumn, col, defaultTable, nameColumn, str } from "./format.js";
import {
  asArray,
  deepEqual,
  defineResource,
  isObject,
  type JsonMap,
  nameIsPathSegment,
  setDefault,
} from "./meta.js";

export const leases = defineResource({
  group: "coordination.k8s.io",
  version: "v1",
  kind: "Lease",
  resource: "leases",
  namespaced: true,
  table: {
    columns: [
      nameColumn,
      col("Holder", "holderIdentity contains the identity of the holder of a current lease."),
      ageColumn,
    ],
    cells: (l, now) => [str(l.metadata?.name), str(l.spec?.holderIdentity), age(l, now)],
  },
  validate(lease) {
    const errs: FieldError[] = [];
    const d = lease.spec?.leaseDurationSeconds;
    if (d !== undefined && (typeof d !== "number" || d <= 0))
      errs.push(fieldErrors.invalid("spec.leaseDurationSeconds", d, "must be greater than 0"));
    const t = lease.spec?.leaseTransitions;
    if (t !== undefined && (typeof t !== "number" || t < 0))
      errs.push(fieldErrors.invalid("spec.leaseTransitions", t, "must be greater than or equal to 0"));
    return errs;
  },
});

/** listWithMoreString: up to three items, "+ N more...", "<unset>" when empty. */
function listWithMore(items: string[]): string {
  const max = 3;
  const shown = items.slice(0, max).join(",");
  if (items.length > max) return `${shown} + ${items.length - max} more...`;
  return shown === "" ? "<unset>" : shown;
}

const addressTypes = ["FQDN", "IPv4", "IPv6"];

export const endpointslices = defineResource({
  group: "discovery.k8s.io",
  version: "v1",
  kind: "EndpointSlice",
  resource: "endpointslices",
  namespaced: true,
  table: {
    columns: [
      nameColumn,
      col("AddressType", "addressType specifies the type of address carried by this EndpointSlice."),
      col("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice."),
      col("Endpoints", "endpoints is a list of unique endpoints in this slice."),
      ageColumn,
    ],
    cells(slice, now) {
      const ports = asArray(slice.ports).map((p) =>
        typeof p?.port === "number" ? String(p.port) : typeof p?.name === "string" ? p.name : "*",
      );
      const addresses = asArray(slice.endpoints).flatMap((e) => asArray(e?.addresses).map(String));
      return [
        str(slice.metadata?.name),
        str(slice.addressType),
        listWithMore(ports),
        listWithMore(addresses),
        age(slice, now),
      ];
    },
  },
  defaults(slice) {
    for (const port of asArray(slice.ports)) {
      if (!isObject(port)) continue;
      setDefault(port, "name", "");
      setDefault(port, "protocol", "TCP");
    }
  },
  validate(slice, old) {
    const errs: FieldError[] = [];
    if (slice.addressType === undefined || slice.addressType === "")
      errs.push(fieldErrors.required("addressType"));
    else if (!addressTypes.includes(slice.addressType))
      errs.push(fieldErrors.notSupported("addressType", slice.addressType, addressTypes));
    asArray(slice.endpoints).forEach((e, i) => {
      const n = asArray(e?.addresses).length;
      if (n === 0)
        errs.push(fieldErrors.required(`endpoints[${i}].addresses`, "must contain at least 1 address"));
      else if (n > 100) errs.push(fieldErrors.tooMany(`endpoints[${i}].addresses`, n, 100));
    });
    if (old && old.addressType !== slice.addressType)
      errs.push(fieldErrors.invalid("addressType", slice.addressType ?? "", "field is immutable"));
    return errs;
  },
});

const pathTypes = ["Exact", "ImplementationSpecific", "Prefix"];

function validateIngressBackend(backend: unknown, path: string): FieldError[] {
  if (!isObject(backend)) return [fieldErrors.required(path)];
  const hasService = isObject(backend.service);
  const hasResource = isObject(backend.resource);
  if (hasService && hasResource)
    return [fieldErrors.invalid(path, backend, "cannot set both resource and service backends")];
  if (!hasService && !hasResource)
    return [fieldErrors.invalid(path, backend, "resource or service backend is required")];
  const errs: FieldError[] = [];
  if (hasService) {
    const svc = backend.service as JsonMap;
    if (typeof svc.name !== "string" || svc.name === "")
      errs.push(fieldErrors.required(`${path}.service.name`));
    const port = isObject(svc.port) ? svc.port : {};
    if (port.name === undefined && port.number === undefined)
      errs.push(fieldErrors.required(`${path}.service.port`, "port name or number is required"));
  }
  return errs;
}

function validateIngress(ing: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObject(ing.spec) ? ing.spec : {};
  const rules = asArray(spec.rules);
  if (spec.defaultBackend === undefined && rules.length === 0)
    errs.push(fieldErrors.invalid("spec", spec, "either `defaultBackend` or `rules` must be specified"));
  if (spec.defaultBackend !== undefined)
    errs.push(...validateIngressBackend(spec.defaultBackend, "spec.defaultBackend"));
  rules.forEach((rule, i) => {
    asArray(rule?.http?.paths).forEach((p, j) => {
      const at = `spec.rules[${i}].http.paths[${j}]`;
      if (!isObject(p)) return;
      if (p.pathType === undefined || p.pathType === "")
        errs.push(fieldErrors.required(`${at}.pathType`, "pathType must be specified"));
      else if (!pathTypes.includes(p.pathType))
        errs.push(fieldErrors.notSupported(`${at}.pathType`, p.pathType, pathTypes));
      if ((p.pathType === "Exact" || p.pathType === "Prefix") && !str(p.path).startsWith("/"))
        errs.push(fieldErrors.invalid(`${at}.path`, p.path ?? "", "must be an absolute path"));
      errs.push(...validateIngressBackend(p.backend, `${at}.backend`));
    });
  });
  return errs;
}

function ingressAddress(ing: KubeObject): string {
  const set = new Set<string>();
  for (const i of asArray(ing.status?.loadBalancer?.ingress)) {
    if (!isObject(i)) continue;
    const v = str(i.ip) || str(i.hostname);
    if (v !== "") set.add(v);
  }
  // The server always prints wide, where upstream does not clip to 16 characters.
  return [...set].sort().join(",");
}

function ingressHosts(ing: KubeObject): string {
  const rules = asArray(ing.spec?.rules);
  const hosts = rules
    .slice(0, 3)
    .map((r) => str(r?.host))
    .filter((h) => h !== "");
  if (rules.length > 3) return `${hosts.join(",")} + ${rules.length - 3} more...`;
  return hosts.length === 0 ? "*" : hosts.join(",");
}

export const ingresses = defineResource({
  group: "networking.k8s.io",
  version: "v1",
  kind: "Ingress",
  resource: "ingresses",
  namespaced: true,
  shortNames: ["ing"],
  subresources: ["status"],
  table: {
    columns: [
      nameColumn,
      col("Class", "The name of the IngressClass resource that should be used for additional configuration"),
      col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
      col("Address", "Address is a list containing ingress points for the load-balancer"),
      col("Ports", "Ports of TLS configurations that open"),
      ageColumn,
    ],
    cells: (ing, now) => [
      str(ing.metadata?.name),
      typeof ing.spec?.ingressClassName === "string" ? ing.spec.ingressClassName : "<none>",
      ingressHosts(ing),
      ingressAddress(ing),
      asArray(ing.spec?.tls).length > 0 ? "80, 443" : "80",
      age(ing, now),
    ],
  },
  status: () => ({ loadBalancer: {} }),
  generation: "spec",
  validate: validateIngress,
});

const rbacGroup = "rbac.authorization.k8s.io";

function validateRules(rules: unknown, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  asArray(rules).forEach((rule, i) => {
    const p = `rules[${i}]`;
    if (!isObject(rule)) return;
    if (asArray(rule.verbs).length === 0)
      errs.push(fieldErrors.required(`${p}.verbs`, "verbs must contain at least one value"));
    const urls = asArray(rule.nonResourceURLs);
    if (urls.length > 0) {
      if (namespaced)
        errs.push(
          fieldErrors.invalid(
            `${p}.nonResourceURLs`,
            urls,
            "namespaced rules cannot apply to non-resource URLs",
          ),
        );
      if (
        asArray(rule.apiGroups).length > 0 ||
        asArray(rule.resources).length > 0 ||
        asArray(rule.resourceNames).length > 0
      )
        errs.push(
          fieldErrors.invalid(
            `${p}.nonResourceURLs`,
            urls,
            "rules cannot apply to both regular resources and non-resource URLs",
          ),
        );
      return;
    }
    if (asArray(rule.apiGroups).length === 0)
      errs.push(fieldErrors.required(`${p}.apiGroups`, "resource rules must supply at least one api group"));
    if (asArray(rule.resources).length === 0)
      errs.push(fieldErrors.required(`${p}.resources`, "resource rules must supply at least one resource"));
  });
  return errs;
}

function roleDef(kind: "Role" | "ClusterRole", resource: string, namespaced: boolean): ResourceDef {
  return defineResource({
    group: rbacGroup,
    version: "v1",
    kind,
    resource,
    namespaced,
    name: nameIsPathSegment,
    table: defaultTable,
    validate: (role) => validateRules(role.rules, namespaced),
  });
}

export const roles = roleDef("Role", "roles", true);
export const clusterroles = roleDef("ClusterRole", "clusterroles", false);

const subjectKinds = ["Group", "ServiceAccount", "User"];

function defaultSubjects(binding: KubeObject): void {
  for (const s of asArray(binding.subjects)) {
    if (!isObject(s)) continue;
    if (s.kind === "ServiceAccount") setDefault(s, "apiGroup", "");
    else if (s.kind === "User" || s.kind === "Group") setDefault(s, "apiGroup", rbacGroup);
  }
}

function validateBinding(
  binding: KubeObject,
  old: KubeObject | undefined,
  roleKinds: string[],
  namespaced: boolean,
): FieldError[] {
  const errs: FieldError[] = [];
  const ref = isObject(binding.roleRef) ? binding.roleRef : {};
  if (ref.apiGroup !== rbacGroup)
    errs.push(fieldErrors.notSupported("roleRef.apiGroup", ref.apiGroup ?? "", [rbacGroup]));
  if (!roleKinds.includes(ref.kind))
    errs.push(fieldErrors.notSupported("roleRef.kind", ref.kind ?? "", roleKinds));
  if (typeof ref.name !== "string" || ref.name === "") errs.push(fieldErrors.required("roleRef.name"));
  asArray(binding.subjects).forEach((s, i) => {
    const p = `subjects[${i}]`;
    if (!isObject(s)) return;
    if (!subjectKinds.includes(s.kind))
      errs.push(fieldErrors.notSupported(`${p}.kind`, s.kind ?? "", subjectKinds));
    if (typeof s.name !== "string" || s.name === "") errs.push(fieldErrors.required(`${p}.name`));
    if (s.kind === "ServiceAccount" && !namespaced && (typeof s.namespace !== "string" || s.namespace === ""))
      errs.push(fieldErrors.required(`${p}.namespace`));
  });
  if (old && !deepEqual(binding.roleRef, old.roleRef))
    errs.push(fieldErrors.invalid("roleRef", binding.roleRef ?? null, "cannot change roleRef"));
  return errs;
}

function subjectCells(binding: KubeObject): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of asArray(binding.subjects)) {
    if (!isObject(s)) continue;
    if (s.kind === "User") users.push(str(s.name));
    else if (s.kind === "Group") groups.push(str(s.name));
    else if (s.kind === "ServiceAccount")
      sas.push(s.namespace ? `${s.namespace}/${str(s.name)}` : str(s.name));
  }
  return [users.join(", "), groups.join(", "), sas.join(", ")];
}

function bindingTable(what: string): TablePrinter {
  return {
    columns: [
      nameColumn,
      col(
        "Role",
        "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
      ),
      ageColumn,
      col("Users", `Users in the ${what}`, { priority: 1 }),
      col("Groups", `Groups in the ${what}`, { priority: 1 }),
      col("ServiceAccounts", `ServiceAccounts in the ${what}`, { priority: 1 }),
    ],
    cells: (b, now) => [
      str(b.metadata?.name),
      `${str(b.roleRef?.kind)}/${str(b.roleRef?.name)}`,
      age(b, now),
      ...subjectCells(b),
    ],
  };
}

function bindingDef(
  kind: "RoleBinding" | "ClusterRoleBinding",
  resource: string,
  namespaced: boolean,
): ResourceDef {
  const roleKinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  return defineResource({
    group: rbacGroup,
    version: "v1",
    kind,
    resource,
    namespaced,
    name: nameIsPathSegment,
    table: bindingTable(namespaced ? "roleBinding" : "clusterRoleBinding"),
    defaults: defaultSubjects,
    validate: (b, old) => validateBinding(b, old, roleKinds, namespaced),
  });
}

export const rolebindings = bindingDef("RoleBinding", "rolebindings", true);
export const clusterrolebindings = bindingDef("ClusterRoleBinding", "clusterrolebindings", false);
