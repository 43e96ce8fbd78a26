// NodeInfo: what the scheduler knows about one node — its allocatable resources and the sum of what the
// pods assigned to it request, their host ports, and the pods themselves (for affinity and spreading).
// A Snapshot holds the NodeInfos of a whole cluster and can "assume" a just-scheduled pod so that
// consecutive scheduling decisions see each other without waiting for the apiserver.
import type { KubeObject } from "../api/index.js";
import {
  addResources,
  emptyResources,
  podRequests,
  quantityValue,
  type Resources,
  resourcesFromList,
} from "./resources.js";

export const defaultMaxPods = 110;
export const bindAllHostIP = "0.0.0.0";

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** Host ports a pod asks for (hostPort > 0), with upstream's defaults: IP 0.0.0.0, protocol TCP. */
export function podHostPorts(pod: KubeObject): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c?.ports ?? []) {
      const port = Number(p?.hostPort ?? 0);
      if (!(port > 0)) continue;
      out.push({ ip: p.hostIP || bindAllHostIP, protocol: p.protocol || "TCP", port });
    }
  }
  return out;
}

export function podKey(pod: KubeObject): string {
  return `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
}

export function controllerUID(pod: KubeObject): string | undefined {
  const refs = pod.metadata?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  return refs.find((r) => r?.controller)?.uid;
}

export class NodeInfo {
  readonly node: KubeObject;
  readonly name: string;
  readonly allocatable: Resources;
  readonly allowedPodNumber: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Sum of the assigned pods' requests. */
  readonly requested: Resources = emptyResources();
  /** Same with 100m/200Mi for pods that request nothing; used by LeastAllocated scoring. */
  readonly nonZeroRequested: Resources = emptyResources();
  readonly pods: KubeObject[] = [];
  /** Pods with required anti-affinity terms; checked against every incoming pod. */
  readonly podsWithRequiredAntiAffinity: KubeObject[] = [];
  /** ip -> "protocol/port" -> how many pods hold it. */
  readonly usedPorts = new Map<string, Map<string, number>>();
  /** controller ownerReference uid -> number of pods on this node. */
  readonly podsByController = new Map<string, number>();

  constructor(node: KubeObject) {
    this.node = node;
    this.name = node.metadata?.name ?? "";
    this.labels = node.metadata?.labels ?? {};
    const alloc = node.status?.allocatable ?? {};
    this.allocatable = resourcesFromList(alloc);
    this.allowedPodNumber = alloc.pods === undefined ? defaultMaxPods : quantityValue(alloc.pods, false);
  }

  addPod(pod: KubeObject): void {
    this.account(pod, 1);
    this.pods.push(pod);
    if (hasRequiredAntiAffinity(pod)) this.podsWithRequiredAntiAffinity.push(pod);
  }

  /** Removes the pod object previously added (matched by identity). */
  removePod(pod: KubeObject): void {
    const i = this.pods.indexOf(pod);
    if (i < 0) return;
    this.pods.splice(i, 1);
    const j = this.podsWithRequiredAntiAffinity.indexOf(pod);
    if (j >= 0) this.podsWithRequiredAntiAffinity.splice(j, 1);
    this.account(pod, -1);
  }

  private account(pod: KubeObject, sign: 1 | -1): void {
    const r = podRequests(pod);
    addResources(this.requested, r.requests, sign);
    addResources(this.nonZeroRequested, r.nonZero, sign);
    for (const hp of podHostPorts(pod)) {
      let ports = this.usedPorts.get(hp.ip);
      if (!ports) {
        ports = new Map();
        this.usedPorts.set(hp.ip, ports);
      }
      bump(ports, `${hp.protocol}/${hp.port}`, sign);
      if (ports.size === 0) this.usedPorts.delete(hp.ip);
    }
    const owner = controllerUID(pod);
    if (owner) bump(this.podsByController, owner, sign);
  }

  /** Whether a wanted host port collides: 0.0.0.0 collides with the port on any IP, and vice versa. */
  portConflicts(wanted: HostPort): boolean {
    const key = `${wanted.protocol}/${wanted.port}`;
    if (wanted.ip === bindAllHostIP) {
      for (const ports of this.usedPorts.values()) if (ports.has(key)) return true;
      return false;
    }
    return (
      (this.usedPorts.get(bindAllHostIP)?.has(key) ?? false) ||
      (this.usedPorts.get(wanted.ip)?.has(key) ?? false)
    );
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n > 0) m.set(key, n);
  else m.delete(key);
}

function hasRequiredAntiAffinity(pod: KubeObject): boolean {
  const terms = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return Array.isArray(terms) && terms.length > 0;
}

/** The cluster as the scheduler sees it: nodes plus the pods assigned to them. */
export interface ClusterState {
  nodes: KubeObject[];
  /** All pods; those without spec.nodeName (or finished) are ignored. */
  pods: KubeObject[];
  /** Namespace labels, for affinity terms with a namespaceSelector. */
  namespaceLabels?: Record<string, Record<string, string>>;
}

function isTerminal(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/**
 * The scheduler's view of the cluster, kept up to date incrementally: `assume`/`removePod` for pods,
 * `setNode`/`removeNode` for nodes. Node order is insertion order (the search rotates over it).
 */
export class Snapshot {
  readonly nodeInfos: NodeInfo[] = [];
  private readonly byName = new Map<string, NodeInfo>();
  /** pod key -> where it sits; a pod whose node is unknown waits here until the node appears. */
  private readonly placed = new Map<string, { nodeName: string; pod: KubeObject }>();
  /** node name -> keys of the pods placed there (also for nodes not known yet). */
  private readonly keysByNode = new Map<string, Set<string>>();
  namespaceLabels: Record<string, Record<string, string>>;
  /** Number of assigned pods that carry required anti-affinity terms, to skip that work when zero. */
  antiAffinityPodCount = 0;
  /** controller uid -> nodes running at least one of its pods (spreading scores visit only these). */
  readonly nodesByController = new Map<string, Set<NodeInfo>>();

  constructor(state: ClusterState) {
    this.namespaceLabels = state.namespaceLabels ?? {};
    for (const node of state.nodes) this.setNode(node);
    for (const pod of state.pods) {
      const nodeName = pod.spec?.nodeName;
      if (nodeName && !isTerminal(pod)) this.assume(pod, nodeName);
    }
  }

  get(name: string): NodeInfo | undefined {
    return this.byName.get(name);
  }

  /**
   * Records `pod` as running on `nodeName` (the scheduler cache's assume step, and also how informer
   * adds/updates of bound pods come in). A pod already known under the same namespace/name is replaced.
   * A terminal (Succeeded/Failed) pod is removed instead, since it no longer uses the node.
   */
  assume(pod: KubeObject, nodeName: string): void {
    this.removePod(pod);
    if (isTerminal(pod)) return;
    const key = podKey(pod);
    this.placed.set(key, { nodeName, pod });
    let keys = this.keysByNode.get(nodeName);
    if (!keys) {
      keys = new Set();
      this.keysByNode.set(nodeName, keys);
    }
    keys.add(key);
    const info = this.byName.get(nodeName);
    if (info) this.attach(info, pod);
  }

  /** Forgets the pod with this pod's namespace/name, wherever it was placed. */
  removePod(pod: KubeObject): void {
    const key = podKey(pod);
    const prev = this.placed.get(key);
    if (!prev) return;
    this.placed.delete(key);
    const keys = this.keysByNode.get(prev.nodeName);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByNode.delete(prev.nodeName);
    const info = this.byName.get(prev.nodeName);
    if (info) this.detach(info, prev.pod);
  }

  /** Adds a node or replaces its object (labels, taints, allocatable), keeping the pods placed on it. */
  setNode(node: KubeObject): void {
    const info = new NodeInfo(node);
    const old = this.byName.get(info.name);
    if (old) {
      for (const pod of [...old.pods]) this.detach(old, pod);
      this.nodeInfos[this.nodeInfos.indexOf(old)] = info;
    } else {
      this.nodeInfos.push(info);
    }
    this.byName.set(info.name, info);
    for (const key of this.keysByNode.get(info.name) ?? []) {
      const placed = this.placed.get(key);
      if (placed) this.attach(info, placed.pod);
    }
  }

  /** Drops a node; its pods are remembered and reappear if the node comes back. */
  removeNode(name: string): void {
    const info = this.byName.get(name);
    if (!info) return;
    for (const pod of [...info.pods]) this.detach(info, pod);
    this.byName.delete(name);
    this.nodeInfos.splice(this.nodeInfos.indexOf(info), 1);
  }

  private attach(info: NodeInfo, pod: KubeObject): void {
    info.addPod(pod);
    if (hasRequiredAntiAffinity(pod)) this.antiAffinityPodCount++;
    const owner = controllerUID(pod);
    if (owner) {
      let nodes = this.nodesByController.get(owner);
      if (!nodes) {
        nodes = new Set();
        this.nodesByController.set(owner, nodes);
      }
      nodes.add(info);
    }
  }

  private detach(info: NodeInfo, pod: KubeObject): void {
    info.removePod(pod);
    if (hasRequiredAntiAffinity(pod)) this.antiAffinityPodCount--;
    const owner = controllerUID(pod);
    if (owner && !info.podsByController.has(owner)) {
      const nodes = this.nodesByController.get(owner);
      nodes?.delete(info);
      if (nodes?.size === 0) this.nodesByController.delete(owner);
    }
  }
}
