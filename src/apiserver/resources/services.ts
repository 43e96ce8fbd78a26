// core/v1 services: defaults (SetDefaults_Service and the registry's IP family fields), validation,
// the registry's carrying-over of allocated values on update, ClusterIP/NodePort assignment over
// the pure allocators, and printService's table.

import {
  builtinFieldGetters,
  type FieldError,
  fieldErrors,
  internalError,
  type KubeObject,
} from "../../api/index.js";
import type { TablePrinter } from "../types.js";
import {
  type CIDR,
  cidrContains,
  defaultNodePortRange,
  ipToNumber,
  isAllocatableIP,
  nextFreeIP,
  nextFreeNodePort,
  type PortRange,
  portInRange,
  portRangeText,
} from "./alloc.js";
import { age, ageColumn, col, formatLabels, nameColumn, str } from "./format.js";
import {
  asArray,
  child,
  defineResource,
  isObject,
  type JsonMap,
  nameIsDNS1035Label,
  setDefault,
} from "./meta.js";

const serviceTypes = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const protocols = ["SCTP", "TCP", "UDP"];
const affinities = ["ClientIP", "None"];

function usesNodePorts(type: unknown): boolean {
  return type === "NodePort" || type === "LoadBalancer";
}

function isHeadless(spec: JsonMap): boolean {
  return spec.clusterIP === "None";
}

function defaultService(svc: KubeObject): void {
  const spec = child(svc, "spec");
  setDefault(spec, "sessionAffinity", "None");
  if (spec.sessionAffinity === "None") delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === "ClientIP") {
    const clientIP = child(child(spec, "sessionAffinityConfig"), "clientIP");
    setDefault(clientIP, "timeoutSeconds", 10800);
  }
  setDefault(spec, "type", "ClusterIP");
  for (const port of asArray(spec.ports)) {
    if (!isObject(port)) continue;
    setDefault(port, "protocol", "TCP");
    if (
      port.targetPort === undefined ||
      port.targetPort === null ||
      port.targetPort === 0 ||
      port.targetPort === ""
    )
      port.targetPort = port.port;
  }
  const external = usesNodePorts(spec.type) || asArray(spec.externalIPs).length > 0;
  if (external) setDefault(spec, "externalTrafficPolicy", "Cluster");
  if (spec.type !== "ExternalName") {
    setDefault(spec, "internalTrafficPolicy", "Cluster");
    setDefault(spec, "ipFamilyPolicy", "SingleStack");
    setDefault(spec, "ipFamilies", ["IPv4"]);
  }
  if (spec.type === "LoadBalancer") setDefault(spec, "allocateLoadBalancerNodePorts", true);
  // clusterIP and clusterIPs[0] are one value seen twice.
  if (typeof spec.clusterIP === "string" && spec.clusterIP !== "" && asArray(spec.clusterIPs).length === 0)
    spec.clusterIPs = [spec.clusterIP];
  else if (
    (spec.clusterIP === undefined || spec.clusterIP === "") &&
    typeof spec.clusterIPs?.[0] === "string"
  )
    spec.clusterIP = spec.clusterIPs[0];
}

function validatePort(port: unknown, p: string, type: unknown): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(port)) return [fieldErrors.invalid(p, port, "must be an object")];
  if (typeof port.port !== "number" || !Number.isInteger(port.port) || port.port < 1 || port.port > 65535)
    errs.push(fieldErrors.invalid(`${p}.port`, port.port ?? 0, "must be between 1 and 65535, inclusive"));
  if (port.protocol !== undefined && !protocols.includes(port.protocol))
    errs.push(fieldErrors.notSupported(`${p}.protocol`, port.protocol, protocols));
  const tp = port.targetPort;
  if (typeof tp === "number" && (!Number.isInteger(tp) || tp < 1 || tp > 65535))
    errs.push(fieldErrors.invalid(`${p}.targetPort`, tp, "must be between 1 and 65535, inclusive"));
  if (port.nodePort !== undefined && port.nodePort !== 0 && !usesNodePorts(type))
    errs.push(fieldErrors.forbidden(`${p}.nodePort`, `may not be used when \`type\` is '${str(type)}'`));
  return errs;
}

function validateService(svc: KubeObject, old: KubeObject | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObject(svc.spec) ? svc.spec : {};
  if (!serviceTypes.includes(spec.type))
    errs.push(fieldErrors.notSupported("spec.type", spec.type ?? "", serviceTypes));
  if (spec.sessionAffinity !== undefined && !affinities.includes(spec.sessionAffinity))
    errs.push(fieldErrors.notSupported("spec.sessionAffinity", spec.sessionAffinity, affinities));
  const ports = asArray(spec.ports);
  if (spec.type === "ExternalName") {
    if (typeof spec.externalName !== "string" || spec.externalName === "")
      errs.push(fieldErrors.required("spec.externalName"));
  } else if (ports.length === 0 && !isHeadless(spec)) {
    errs.push(fieldErrors.required("spec.ports"));
  }
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = `spec.ports[${i}]`;
    errs.push(...validatePort(port, p, spec.type));
    const name = isObject(port) && typeof port.name === "string" ? port.name : "";
    if (ports.length > 1 && name === "") errs.push(fieldErrors.required(`${p}.name`));
    else if (name !== "") {
      if (names.has(name)) errs.push(fieldErrors.duplicate(`${p}.name`, name));
      names.add(name);
    }
  });
  asArray(spec.clusterIPs).forEach((ip, i) => {
    if (ip === "None" && i === 0) return;
    if (typeof ip !== "string" || ipToNumber(ip) === undefined)
      errs.push(
        fieldErrors.invalid(
          `spec.clusterIPs[${i}]`,
          ip,
          "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ),
      );
  });
  if (old && spec.type !== "ExternalName" && old.spec?.type !== "ExternalName") {
    const before = asArray(old.spec?.clusterIPs)[0];
    const now = asArray(spec.clusterIPs)[0];
    // An omitted IP is carried over from the stored object (keepAllocatedValues), not a change.
    if (before !== undefined && before !== "" && now !== undefined && now !== "" && before !== now)
      errs.push(fieldErrors.invalid("spec.clusterIPs[0]", spec.clusterIPs ?? [], "may not change once set"));
  }
  return errs;
}

/** Upstream's patchAllocatedValues: an update that omits the allocated IP or NodePorts keeps them. */
function keepAllocatedValues(svc: KubeObject, old: KubeObject): void {
  const spec = child(svc, "spec");
  const oldSpec = isObject(old.spec) ? old.spec : {};
  if (spec.type !== "ExternalName" && oldSpec.type !== "ExternalName") {
    if (!spec.clusterIP && oldSpec.clusterIP) spec.clusterIP = oldSpec.clusterIP;
    if (asArray(spec.clusterIPs).length === 0 && asArray(oldSpec.clusterIPs).length > 0)
      spec.clusterIPs = structuredClone(oldSpec.clusterIPs);
  }
  if (usesNodePorts(spec.type) && usesNodePorts(oldSpec.type)) {
    for (const port of asArray(spec.ports)) {
      if (!isObject(port) || (port.nodePort !== undefined && port.nodePort !== 0)) continue;
      const match = asArray(oldSpec.ports).find(
        (o) => isObject(o) && o.port === port.port && (o.protocol ?? "TCP") === (port.protocol ?? "TCP"),
      );
      if (match?.nodePort) port.nodePort = match.nodePort;
    }
  }
}

export interface ServiceAllocation {
  serviceCIDR: CIDR;
  /** ClusterIPs other services hold (leave out the service's own on update). */
  usedIPs: ReadonlySet<string>;
  /** NodePorts other services hold. */
  usedNodePorts: ReadonlySet<number>;
  nodePortRange?: PortRange;
  random?: () => number;
}

/**
 * Gives a service its ClusterIP and NodePorts, checking requested ones as upstream's allocators do.
 * Returns field errors for unusable requests; throws a 500 StatusError when a range is full.
 */
export function allocateServiceAddresses(svc: KubeObject, alloc: ServiceAllocation): FieldError[] {
  const errs: FieldError[] = [];
  const spec = child(svc, "spec");
  if (spec.type === "ExternalName") return errs;
  if (!isHeadless(spec)) {
    const requested =
      typeof spec.clusterIP === "string" && spec.clusterIP !== "" ? spec.clusterIP : undefined;
    if (requested === undefined) {
      const ip = nextFreeIP(alloc.serviceCIDR, alloc.usedIPs, alloc.random);
      if (ip === undefined) throw internalError("failed to allocate a serviceIP: range is full");
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    } else if (
      !isAllocatableIP(alloc.serviceCIDR, requested) ||
      !cidrContains(alloc.serviceCIDR, requested)
    ) {
      errs.push(
        fieldErrors.invalid(
          "spec.clusterIPs",
          [requested],
          `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${alloc.serviceCIDR.text}`,
        ),
      );
    } else if (alloc.usedIPs.has(requested)) {
      errs.push(
        fieldErrors.invalid(
          "spec.clusterIPs",
          [requested],
          `failed to allocate IP ${requested}: provided IP is already allocated`,
        ),
      );
    }
  } else {
    spec.clusterIPs = ["None"];
  }
  if (!usesNodePorts(spec.type) || spec.allocateLoadBalancerNodePorts === false) return errs;
  const range = alloc.nodePortRange ?? defaultNodePortRange;
  const taken = new Set(alloc.usedNodePorts);
  const ports = asArray(spec.ports);
  ports.forEach((port, i) => {
    if (!isObject(port) || typeof port.nodePort !== "number" || port.nodePort === 0) return;
    const p = `spec.ports[${i}].nodePort`;
    if (!portInRange(range, port.nodePort))
      errs.push(
        fieldErrors.invalid(
          p,
          port.nodePort,
          `provided port is not in the valid range. The range of valid ports is ${portRangeText(range)}`,
        ),
      );
    else if (taken.has(port.nodePort))
      errs.push(fieldErrors.invalid(p, port.nodePort, "provided port is already allocated"));
    else taken.add(port.nodePort);
  });
  for (const port of ports) {
    if (!isObject(port) || (typeof port.nodePort === "number" && port.nodePort !== 0)) continue;
    const free = nextFreeNodePort(taken, range, alloc.random);
    if (free === undefined) throw internalError("failed to allocate a nodePort: range is full");
    port.nodePort = free;
    taken.add(free);
  }
  return errs;
}

/** The ClusterIPs and NodePorts the given services hold, to pass to allocateServiceAddresses. */
export function serviceAddressesInUse(list: readonly KubeObject[]): {
  ips: Set<string>;
  nodePorts: Set<number>;
} {
  const ips = new Set<string>();
  const nodePorts = new Set<number>();
  for (const svc of list) {
    for (const ip of asArray(svc.spec?.clusterIPs)) if (typeof ip === "string" && ip !== "None") ips.add(ip);
    if (typeof svc.spec?.clusterIP === "string" && svc.spec.clusterIP !== "None" && svc.spec.clusterIP !== "")
      ips.add(svc.spec.clusterIP);
    for (const port of asArray(svc.spec?.ports))
      if (isObject(port) && typeof port.nodePort === "number" && port.nodePort > 0)
        nodePorts.add(port.nodePort);
  }
  return { ips, nodePorts };
}

/** getServiceExternalIP of printers.go. */
function externalIP(spec: JsonMap, status: JsonMap): string {
  const externalIPs = asArray(spec.externalIPs).map(String);
  switch (spec.type) {
    case "ClusterIP":
    case "NodePort":
      return externalIPs.length > 0 ? externalIPs.join(",") : "<none>";
    case "LoadBalancer": {
      const lb = [
        ...new Set(
          asArray(status.loadBalancer?.ingress)
            .map((i) => (isObject(i) ? str(i.ip) || str(i.hostname) : ""))
            .filter((s) => s !== ""),
        ),
      ].sort();
      const all = [...lb, ...externalIPs];
      if (all.length > 0) return all.join(",");
      return "<pending>";
    }
    case "ExternalName":
      return str(spec.externalName);
  }
  return "<unknown>";
}

function portsCell(ports: unknown[]): string {
  const s = ports
    .filter(isObject)
    .map((p) =>
      p.nodePort > 0 ? `${p.port}:${p.nodePort}/${str(p.protocol)}` : `${p.port}/${str(p.protocol)}`,
    )
    .join(",");
  return s === "" ? "<none>" : s;
}

const serviceTable: TablePrinter = {
  columns: [
    nameColumn,
    col("Type", "type determines how the Service is exposed."),
    col("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
    col(
      "External-IP",
      "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    ),
    col("Port(s)", "The list of ports that are exposed by this service."),
    ageColumn,
    col("Selector", "Route service traffic to pods with label keys and values matching this selector.", {
      priority: 1,
    }),
  ],
  cells(svc, now) {
    const spec = isObject(svc.spec) ? svc.spec : {};
    const status = isObject(svc.status) ? svc.status : {};
    return [
      str(svc.metadata?.name),
      str(spec.type),
      str(asArray(spec.clusterIPs)[0]) || "<none>",
      externalIP(spec, status),
      portsCell(asArray(spec.ports)),
      age(svc, now),
      formatLabels(spec.selector),
    ];
  },
};

export const services = defineResource({
  group: "",
  version: "v1",
  kind: "Service",
  resource: "services",
  namespaced: true,
  shortNames: ["svc"],
  categories: ["all"],
  subresources: ["status"],
  name: nameIsDNS1035Label,
  fields: builtinFieldGetters.Service,
  table: serviceTable,
  status: () => ({ loadBalancer: {} }),
  defaults: defaultService,
  validate: validateService,
  onUpdate(svc, old, ctx) {
    if (ctx.subresource !== "status") keepAllocatedValues(svc, old);
  },
});
