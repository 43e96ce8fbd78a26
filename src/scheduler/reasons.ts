// The reasons filters give for rejecting a node, worded exactly as upstream so events read the same.

export const Reasons = {
  nodeName: "node(s) didn't match the requested node name",
  unschedulable: "node(s) were unschedulable",
  nodeAffinity: "node(s) didn't match Pod's node affinity/selector",
  nodePorts: "node(s) didn't have free ports for the requested pod ports",
  tooManyPods: "Too many pods",
  podAffinity: "node(s) didn't match pod affinity rules",
  podAntiAffinity: "node(s) didn't match pod anti-affinity rules",
  existingAntiAffinity: "node(s) didn't satisfy existing pods anti-affinity rules",
} as const;

export function untoleratedTaintReason(key: string, value: string | undefined): string {
  return `node(s) had untolerated taint {${key}: ${value ?? ""}}`;
}

export function insufficientReason(resource: string): string {
  return `Insufficient ${resource}`;
}

export interface Rejection {
  plugin: string;
  reasons: string[];
  /** UnschedulableAndUnresolvable upstream: preempting pods on that node would not help. */
  unresolvable: boolean;
}
