// core/v1 kinds of the cluster's shape: namespaces, nodes, endpoints and events, with upstream's
// defaults, checks and table columns.

import { builtinFieldGetters, type FieldError, fieldErrors, type KubeObject } from "../../api/index.js";
import type { TablePrinter } from "../types.js";
import { age, ageColumn, col, int, nameColumn, parseTime, since, str } from "./format.js";
import {
  asArray,
  child,
  defineResource,
  isObject,
  nameIsDNSLabel,
  setDefault,
  standardVerbs,
} from "./meta.js";
export const namespaces = defineResource({
  group: "",
  version: "v1",
  kind: "Namespace",
  resource: "namespaces",
  namespaced: false,
  shortNames: ["ns"],
  // finalize is the namespace controller's way to drop spec.finalizers once the namespace is empty.
  subresources: ["status", "finalize"],
  verbs: standardVerbs.filter((v) => v !== "deletecollection"),
  name: nameIsDNSLabel,
  fields: builtinFieldGetters.Namespace,
  table: {
    columns: [nameColumn, col("Status", "The status of the namespace"), ageColumn],
    cells: (ns, now) => [str(ns.metadata?.name), str(ns.status?.phase), age(ns, now)],
  },
  status: () => ({ phase: "Active" }),
  defaults(ns) {
    const name = ns.metadata?.name;
    if (typeof name === "string" && name !== "") {
      ns.metadata!.labels = { ...(ns.metadata!.labels ?? {}), "kubernetes.io/metadata.name": name };
    }
    setDefault(child(ns, "status"), "phase", "Active");
  },
  onCreate(ns) {
    const spec = child(ns, "spec");
    const finalizers = asArray(spec.finalizers);
    if (!finalizers.includes("kubernetes")) finalizers.push("kubernetes");
    spec.finalizers = finalizers;
  },
  onUpdate(ns, old, ctx) {
    // Only the namespace controller's finalize call may change spec.finalizers.
    if (ctx.subresource !== "finalize") {
      if (old.spec !== undefined) ns.spec = structuredClone(old.spec);
      else delete ns.spec;
    }
  },
});

function nodeAddress(node: KubeObject, type: string): string {
  const a = asArray(node.status?.addresses).find((x) => isObject(x) && x.type === type);
  return a ? str(a.address) : "<none>";
}

/** findNodeRoles: node-role.kubernetes.io/<role> keys and the kubernetes.io/role value. */
export function nodeRoles(node: KubeObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const role = k.slice("node-role.kubernetes.io/".length);
      if (role !== "") roles.add(role);
    } else if (k === "kubernetes.io/role" && v !== "") roles.add(v);
  }
  return [...roles].sort();
}

const nodeTable: TablePrinter = {
  columns: [
    nameColumn,
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    ageColumn,
    col("Version", "Kubelet Version reported by the node."),
    col("Internal-IP", "List of addresses reachable to the node.", { priority: 1 }),
    col("External-IP", "List of addresses reachable to the node.", { priority: 1 }),
    col(
      "OS-Image",
      "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
      { priority: 1 },
    ),
    col(
      "Kernel-Version",
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      { priority: 1 },
    ),
    col(
      "Container-Runtime",
      "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
      { priority: 1 },
    ),
  ],
  cells(node, now) {
    const ready = asArray(node.status?.conditions).find((c) => isObject(c) && c.type === "Ready");
    const status: string[] = [];
    if (ready) status.push(ready.status === "True" ? "Ready" : "NotReady");
    else status.push("Unknown");
    if (node.spec?.unschedulable === true) status.push("SchedulingDisabled");
    const roles = nodeRoles(node).join(",");
    const info = isObject(node.status?.nodeInfo) ? node.status.nodeInfo : {};
    return [
      str(node.metadata?.name),
      status.join(","),
      roles === "" ? "<none>" : roles,
      age(node, now),
      str(info.kubeletVersion),
      nodeAddress(node, "InternalIP"),
      nodeAddress(node, "ExternalIP"),
      str(info.osImage) || "<unknown>",
      str(info.kernelVersion) || "<unknown>",
      str(info.containerRuntimeVersion) || "<unknown>",
    ];
  },
};

export const nodes = defineResource({
  group: "",
  version: "v1",
  kind: "Node",
  resource: "nodes",
  namespaced: false,
  shortNames: ["no"],
  subresources: ["status"],
  fields: builtinFieldGetters.Node,
  table: nodeTable,
  status: true,
  keepStatusOnCreate: true,
  defaults(node) {
    const status = node.status;
    if (isObject(status) && isObject(status.capacity) && !isObject(status.allocatable))
      status.allocatable = structuredClone(status.capacity);
  },
});

/** formatEndpoints: up to three host:port pairs, then "+ N more...". */
function endpointsCell(ep: KubeObject): string {
  const subsets = asArray(ep.subsets);
  if (subsets.length === 0) return "<none>";
  const max = 3;
  const list: string[] = [];
  let count = 0;
  let more = false;
  const add = (s: string): void => {
    if (list.length === max) more = true;
    else list.push(s);
  };
  for (const ss of subsets) {
    const addresses = asArray(ss?.addresses);
    const ports = asArray(ss?.ports);
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) add(str(a?.ip));
      continue;
    }
    for (const port of ports) {
      count += addresses.length;
      for (const a of addresses) {
        const ip = str(a?.ip);
        add(ip.includes(":") ? `[${ip}]:${int(port?.port)}` : `${ip}:${int(port?.port)}`);
      }
    }
  }
  const joined = list.join(",");
  return more ? `${joined} + ${count - max} more...` : joined;
}

export const endpoints = defineResource({
  group: "",
  version: "v1",
  kind: "Endpoints",
  resource: "endpoints",
  singular: "endpoints",
  namespaced: true,
  shortNames: ["ep"],
  table: {
    columns: [
      nameColumn,
      col("Endpoints", "The set of all endpoints is the union of all subsets."),
      ageColumn,
    ],
    cells: (ep, now) => [str(ep.metadata?.name), endpointsCell(ep), age(ep, now)],
  },
  defaults(ep) {
    for (const ss of asArray(ep.subsets))
      for (const port of asArray(ss?.ports)) if (isObject(port)) setDefault(port, "protocol", "TCP");
  },
  validate(ep) {
    const errs: FieldError[] = [];
    asArray(ep.subsets).forEach((ss, i) => {
      for (const kind of ["addresses", "notReadyAddresses"]) {
        asArray(ss?.[kind]).forEach((a, j) => {
          if (!isObject(a) || typeof a.ip !== "string" || a.ip === "")
            errs.push(fieldErrors.required(`subsets[${i}].${kind}[${j}].ip`));
        });
      }
    });
    return errs;
  },
});

/** printEvent's LAST SEEN and the rest, falling back to eventTime and series as upstream does. */
const eventTable: TablePrinter = {
  columns: [
    col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    col(
      "Reason",
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    col("Object", "The object that this event is about."),
    col(
      "Subobject",
      "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
      { priority: 1 },
    ),
    col("Source", "The component reporting this event. Should be a short machine understandable string.", {
      priority: 1,
    }),
    col("Message", "A human-readable description of the status of this operation."),
    col(
      "First Seen",
      "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
      { priority: 1 },
    ),
    col("Count", "The number of times this event has occurred.", { priority: 1 }),
    { ...nameColumn, priority: 1 },
  ],
  cells(ev, now) {
    let first = since(ev.firstTimestamp, now);
    if (parseTime(ev.firstTimestamp) === undefined) first = since(ev.eventTime, now);
    let last = parseTime(ev.lastTimestamp) === undefined ? first : since(ev.lastTimestamp, now);
    let count = int(ev.count);
    if (isObject(ev.series)) {
      last = since(ev.series.lastObservedTime, now);
      count = int(ev.series.count);
    } else if (count === 0) count = 1;
    const involved = isObject(ev.involvedObject) ? ev.involvedObject : {};
    const kind = str(involved.kind).toLowerCase();
    const target = str(involved.name) !== "" ? `${kind}/${str(involved.name)}` : kind;
    const component = str(ev.source?.component) || str(ev.reportingComponent);
    const host = str(ev.source?.host) || str(ev.reportingInstance);
    return [
      last,
      str(ev.type),
      str(ev.reason),
      target,
      str(involved.fieldPath),
      host === "" ? component : `${component}, ${host}`,
      str(ev.message).trim(),
      first,
      count,
      str(ev.metadata?.name),
    ];
  },
};

export const events = defineResource({
  group: "",
  version: "v1",
  kind: "Event",
  resource: "events",
  namespaced: true,
  shortNames: ["ev"],
  fields: builtinFieldGetters.Event,
  table: eventTable,
});
