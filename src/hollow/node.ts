// What a hollow node looks like to the API: the Node object a kubelet would register (capacity,
// labels, taints, addresses, nodeInfo, daemon endpoints, the Ready and pressure conditions), its
// Lease in kube-node-lease, and the flag syntax for labels and taints.
import type { KubeObject } from "../api/index.js";
import { microTime } from "../client/index.js";

export const KUBELET_VERSION = "v1.32.0-kite";
export const RUNTIME_VERSION = "hollow://1.0.0";
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
/** The kubelet's default nodeLeaseDurationSeconds. */
export const NODE_LEASE_DURATION_SECONDS = 40;

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface NodeShape {
  cpu: string;
  memory: string;
  pods: string;
  labels: Record<string, string>;
  taints: Taint[];
  instanceType?: string;
}

/** "k=v,k2=v2" → labels; an empty string gives none. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) throw new Error(`invalid label ${JSON.stringify(item)}: want key=value`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

const EFFECTS = new Set(["NoSchedule", "PreferNoSchedule", "NoExecute"]);

/** "k=v:Effect,k:Effect" → taints, as kubectl taint writes them. */
export function parseTaints(text: string): Taint[] {
  const out: Taint[] = [];
  for (const part of text.split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const colon = item.lastIndexOf(":");
    const effect = colon > 0 ? item.slice(colon + 1) : "";
    if (!EFFECTS.has(effect))
      throw new Error(
        `invalid taint ${JSON.stringify(item)}: want key[=value]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute`,
      );
    const kv = item.slice(0, colon);
    const eq = kv.indexOf("=");
    const key = eq < 0 ? kv : kv.slice(0, eq);
    if (key === "") throw new Error(`invalid taint ${JSON.stringify(item)}: empty key`);
    const taint: Taint = { key, effect: effect as Taint["effect"] };
    if (eq >= 0) taint.value = kv.slice(eq + 1);
    out.push(taint);
  }
  return out;
}

/** The node's InternalIP: 172.16.0.0/12 numbered by the node's index (1-based, up to ~1M nodes). */
export function nodeIP(index: number): string {
  const n = index + 1;
  return `172.${16 + ((n >> 16) & 15)}.${(n >> 8) & 255}.${n & 255}`;
}

export function nodeConditions(now: number, since: number): KubeObject[] {
  const at = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
  const from = new Date(since).toISOString().replace(/\.\d{3}Z$/, "Z");
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: at,
    lastTransitionTime: from,
    reason,
    message,
  });
  return [
    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
  ];
}

export function nodeObject(name: string, index: number, shape: NodeShape, now: number): KubeObject {
  const labels: Record<string, string> = {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    type: "hollow",
    ...shape.labels,
  };
  if (shape.instanceType) labels["node.kubernetes.io/instance-type"] = shape.instanceType;
  const resources = { cpu: shape.cpu, memory: shape.memory, pods: shape.pods, "ephemeral-storage": "100Gi" };
  const spec: Record<string, unknown> = {};
  if (shape.taints.length > 0) spec.taints = shape.taints.map((t) => ({ ...t }));
  const id = `hollow-${index.toString(16).padStart(8, "0")}`;
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels,
      annotations: { "kite.io/hollow": "true", "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec,
    status: {
      capacity: { ...resources },
      allocatable: { ...resources },
      conditions: nodeConditions(now, now),
      addresses: [
        { type: "InternalIP", address: nodeIP(index) },
        { type: "Hostname", address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: id,
        systemUUID: id,
        bootID: id,
        kernelVersion: "6.1.0-hollow",
        osImage: "kite hollow node",
        containerRuntimeVersion: RUNTIME_VERSION,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

export function leaseObject(node: KubeObject, now: number): KubeObject {
  const name = node.metadata?.name ?? "";
  const owner = node.metadata?.uid
    ? [{ apiVersion: "v1", kind: "Node", name, uid: node.metadata.uid }]
    : undefined;
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace: NODE_LEASE_NAMESPACE, ...(owner ? { ownerReferences: owner } : {}) },
    spec: {
      holderIdentity: name,
      leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS,
      renewTime: microTime(now),
    },
  };
}
