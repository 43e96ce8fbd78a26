// Builders for nodes and pods used by the scheduler tests.
import type { KubeObject } from "../../src/api/index.js";

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: string }>;
  unschedulable?: boolean;
}

export function node(name: string, o: NodeOpts = {}): KubeObject {
  const allocatable: Record<string, string> = { cpu: o.cpu ?? "4", memory: o.memory ?? "8Gi" };
  if (o.pods !== undefined) allocatable.pods = o.pods;
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...o.labels } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: { allocatable, capacity: allocatable },
  };
}

export interface PodOpts {
  namespace?: string;
  cpu?: string;
  memory?: string;
  nodeName?: string;
  labels?: Record<string, string>;
  owner?: string;
  priority?: number;
  // biome-ignore lint/suspicious/noExplicitAny: spec fragments are open JSON
  spec?: Record<string, any>;
}

export function pod(name: string, o: PodOpts = {}): KubeObject {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace ?? "default",
      uid: `uid-${name}`,
      labels: o.labels,
      ownerReferences: o.owner
        ? [
            {
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: o.owner,
              uid: `rs-${o.owner}`,
              controller: true,
            },
          ]
        : undefined,
    },
    spec: {
      nodeName: o.nodeName,
      priority: o.priority,
      containers: [{ name: "c", image: "x", resources: { requests } }],
      ...o.spec,
    },
  };
}
