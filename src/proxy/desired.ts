// The proxy's desired state, computed without side effects from the informers' caches: every
// service port with its frontends (ClusterIP:port, NodePort on the node's IP) and its endpoints with
// the target port already resolved. Backends (userspace now, iptables/nftables later) only apply it.
import type { KubeObject } from "../api/index.js";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

export type Protocol = "TCP" | "UDP" | "SCTP";

export interface Endpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
}

export interface ServicePortState {
  /** Upstream's ServicePortName string: "namespace/name:portName" (":" kept even when unnamed). */
  key: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  /** ClientIP affinity timeout in seconds, or undefined for sessionAffinity None. */
  affinityTimeoutSeconds?: number;
  /** Every endpoint the slices list for this port, ready or not, in a stable order. */
  endpoints: Endpoint[];
}

export interface Frontend {
  /** "TCP/127.96.0.10:80": what a listener is keyed by. */
  key: string;
  kind: "clusterIP" | "nodePort";
  protocol: Protocol;
  ip: string;
  port: number;
  servicePort: string;
}

export interface DesiredState {
  /** By ServicePortState.key. */
  servicePorts: Map<string, ServicePortState>;
  /** By Frontend.key; two service ports claiming the same frontend: the first key in order wins. */
  frontends: Map<string, Frontend>;
}

/** True for services the proxy programs: a ClusterIP is set and the type is not ExternalName. */
export function isProxied(svc: KubeObject): boolean {
  const spec = svc.spec ?? {};
  if (spec.type === "ExternalName") return false;
  const ip = spec.clusterIP;
  return typeof ip === "string" && ip !== "" && ip !== "None";
}

function asProtocol(p: unknown): Protocol | undefined {
  if (p === undefined || p === null || p === "TCP") return "TCP";
  if (p === "UDP" || p === "SCTP") return p;
  return undefined;
}

/** An endpoint's conditions as upstream reads them: ready unset means ready; serving unset means ready. */
function conditions(c: Record<string, unknown> | undefined) {
  const ready = c?.ready !== false;
  const serving = typeof c?.serving === "boolean" ? c.serving : ready;
  const terminating = c?.terminating === true;
  return { ready, serving, terminating };
}

/** Endpoints for one service port out of EndpointSlices (IPv4 only; first address, as upstream). */
function endpointsFromSlices(slices: KubeObject[], portName: string, protocol: Protocol): Endpoint[] {
  const out = new Map<string, Endpoint>();
  for (const slice of slices) {
    if (slice.addressType !== undefined && slice.addressType !== "IPv4") continue;
    const sp = ((slice.ports ?? []) as Array<Record<string, unknown>>).find(
      (p) => (p?.name ?? "") === portName && asProtocol(p?.protocol) === protocol,
    );
    if (sp === undefined || typeof sp.port !== "number" || sp.port <= 0) continue;
    for (const ep of (slice.endpoints ?? []) as Array<Record<string, unknown>>) {
      const ip = (ep?.addresses as unknown[] | undefined)?.[0];
      if (typeof ip !== "string" || ip === "") continue;
      const key = `${ip}:${sp.port}`;
      if (out.has(key)) continue;
      const endpoint: Endpoint = {
        ip,
        port: sp.port,
        ...conditions(ep.conditions as Record<string, unknown>),
      };
      if (typeof ep.nodeName === "string") endpoint.nodeName = ep.nodeName;
      out.set(key, endpoint);
    }
  }
  return sortEndpoints([...out.values()]);
}

/** Endpoints from a v1 Endpoints object (used only for services without slices, e.g. default/kubernetes). */
function endpointsFromEndpoints(eps: KubeObject, portName: string, protocol: Protocol): Endpoint[] {
  const out = new Map<string, Endpoint>();
  for (const subset of (eps.subsets ?? []) as Array<Record<string, unknown>>) {
    const sp = ((subset?.ports ?? []) as Array<Record<string, unknown>>).find(
      (p) => (p?.name ?? "") === portName && asProtocol(p?.protocol) === protocol,
    );
    if (sp === undefined || typeof sp.port !== "number" || sp.port <= 0) continue;
    const add = (list: unknown, ready: boolean) => {
      for (const a of (list ?? []) as Array<Record<string, unknown>>) {
        if (typeof a?.ip !== "string" || a.ip === "") continue;
        const key = `${a.ip}:${sp.port}`;
        if (!out.has(key))
          out.set(key, { ip: a.ip, port: sp.port as number, ready, serving: ready, terminating: false });
      }
    };
    add(subset.addresses, true);
    add(subset.notReadyAddresses, false);
  }
  return sortEndpoints([...out.values()]);
}

function sortEndpoints(list: Endpoint[]): Endpoint[] {
  const text = (e: Endpoint) => `${e.ip}:${e.port}`;
  return list.sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
}

export interface DesiredInputs {
  services: KubeObject[];
  /** Slices of a service, by "namespace/name". */
  slicesFor(namespace: string, name: string): KubeObject[];
  /** The v1 Endpoints of a service, used when it has no slices at all. */
  endpointsFor?(namespace: string, name: string): KubeObject | undefined;
  nodeIP: string;
  log?: (message: string) => void;
}

/** The whole desired state. Pure: same inputs, same answer. */
export function computeDesiredState(inputs: DesiredInputs): DesiredState {
  const servicePorts = new Map<string, ServicePortState>();
  const frontends = new Map<string, Frontend>();
  const services = [...inputs.services].sort((a, b) => {
    const ka = `${a.metadata?.namespace}/${a.metadata?.name}`;
    const kb = `${b.metadata?.namespace}/${b.metadata?.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  for (const svc of services) {
    if (!isProxied(svc)) continue;
    const namespace = svc.metadata?.namespace ?? "";
    const name = svc.metadata?.name ?? "";
    const spec = svc.spec ?? {};
    const slices = inputs.slicesFor(namespace, name);
    const eps = slices.length === 0 ? inputs.endpointsFor?.(namespace, name) : undefined;
    const affinity =
      spec.sessionAffinity === "ClientIP"
        ? (positiveInt(spec.sessionAffinityConfig?.clientIP?.timeoutSeconds) ??
          DEFAULT_AFFINITY_TIMEOUT_SECONDS)
        : undefined;
    for (const p of (Array.isArray(spec.ports) ? spec.ports : []) as Array<Record<string, unknown>>) {
      const protocol = asProtocol(p?.protocol);
      const port = positiveInt(p?.port);
      if (protocol === undefined || port === undefined || port > 65_535) {
        inputs.log?.(`service ${namespace}/${name}: port ${JSON.stringify(p)} is not usable; skipped`);
        continue;
      }
      const portName = typeof p.name === "string" ? p.name : "";
      const sp: ServicePortState = {
        key: `${namespace}/${name}:${portName}`,
        namespace,
        name,
        portName,
        protocol,
        clusterIP: spec.clusterIP,
        port,
        endpoints:
          eps !== undefined
            ? endpointsFromEndpoints(eps, portName, protocol)
            : endpointsFromSlices(slices, portName, protocol),
      };
      const nodePort = positiveInt(p.nodePort);
      if (nodePort !== undefined && usesNodePort(spec.type)) sp.nodePort = nodePort;
      if (affinity !== undefined) sp.affinityTimeoutSeconds = affinity;
      servicePorts.set(sp.key, sp);
      for (const f of frontendsOf(sp, inputs.nodeIP)) if (!frontends.has(f.key)) frontends.set(f.key, f);
    }
  }
  return { servicePorts, frontends };
}

function usesNodePort(type: unknown): boolean {
  return type === "NodePort" || type === "LoadBalancer";
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined;
}

export function frontendKey(protocol: Protocol, ip: string, port: number): string {
  return `${protocol}/${ip}:${port}`;
}

/** Where a service port is reachable from: its ClusterIP, and its NodePort on this node's IP. */
export function frontendsOf(sp: ServicePortState, nodeIP: string): Frontend[] {
  const out: Frontend[] = [
    {
      key: frontendKey(sp.protocol, sp.clusterIP, sp.port),
      kind: "clusterIP",
      protocol: sp.protocol,
      ip: sp.clusterIP,
      port: sp.port,
      servicePort: sp.key,
    },
  ];
  if (sp.nodePort !== undefined)
    out.push({
      key: frontendKey(sp.protocol, nodeIP, sp.nodePort),
      kind: "nodePort",
      protocol: sp.protocol,
      ip: nodeIP,
      port: sp.nodePort,
      servicePort: sp.key,
    });
  return out;
}

/**
 * The endpoints traffic goes to: the ready ones; when none is ready, those still serving while
 * terminating (upstream's ProxyTerminatingEndpoints), so a rolling update drains without errors.
 */
export function usableEndpoints(sp: ServicePortState): Endpoint[] {
  const ready = sp.endpoints.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return sp.endpoints.filter((e) => e.serving && e.terminating);
}
