// What DNS knows of the cluster, read from informer caches as CoreDNS's kubernetes plugin does:
// services (by namespace/name and by ClusterIP), EndpointSlices (by their service and by address)
// and pods (by IP, for verified pod records). Answers are computed from the caches at query time,
// so an informer event is visible to the next query with no rebuild step.
import type { KubeObject } from "../api/index.js";
import {
  type GroupVersionResource,
  type RestClient,
  type SharedIndexInformer,
  SharedInformerFactory,
} from "../client/index.js";

export interface DnsPort {
  name: string;
  /** Lowercase, as it appears in an SRV name: tcp, udp, sctp. */
  protocol: string;
  port: number;
}

export interface DnsService {
  namespace: string;
  name: string;
  headless: boolean;
  clusterIPs: string[];
  externalName?: string;
  ports: DnsPort[];
}

export interface DnsEndpoint {
  ip: string;
  /** The endpoint's hostname, or its dashed IP when it has none (CoreDNS's default). */
  hostname: string;
  ports: DnsPort[];
}

/** The queries the resolver asks; implemented over informers here and by fakes in tests. */
export interface ClusterView {
  service(namespace: string, name: string): DnsService | undefined;
  /** Ready endpoints of a service (all endpoints when it publishes not-ready addresses). */
  endpoints(namespace: string, service: string): DnsEndpoint[];
  namespaceExists(namespace: string): boolean;
  podHasIP(namespace: string, ip: string): boolean;
  /** Names (relative to the zone, e.g. "web.default.svc") pointing at an IP, for PTR. */
  namesForIP(ip: string): string[];
  /** SOA serial: when the cluster data last changed, in Unix seconds. */
  serial(): number;
}

const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const TOLERATE_UNREADY = "service.alpha.kubernetes.io/tolerate-unready-endpoints";
const BY_IP = "ip";
const BY_SERVICE = "service";

const GVR = {
  services: { group: "", version: "v1", resource: "services" },
  endpointslices: { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" },
  pods: { group: "", version: "v1", resource: "pods" },
} satisfies Record<string, GroupVersionResource>;

/** The dashed form of an IP used as a DNS label: 10-0-0-1, fd00--1. */
export function dashedIP(ip: string): string {
  return ip.replace(/[.:]/g, "-");
}

function serviceIPs(svc: KubeObject): string[] {
  const spec = svc.spec ?? {};
  const ips: unknown[] =
    Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP];
  return ips.filter((ip): ip is string => typeof ip === "string" && ip !== "" && ip !== "None");
}

function toPorts(ports: unknown): DnsPort[] {
  if (!Array.isArray(ports)) return [];
  const out: DnsPort[] = [];
  for (const p of ports) {
    if (typeof p?.port !== "number") continue;
    out.push({
      name: typeof p.name === "string" ? p.name : "",
      protocol: (typeof p.protocol === "string" ? p.protocol : "TCP").toLowerCase(),
      port: p.port,
    });
  }
  return out;
}

function sliceIPs(slice: KubeObject): string[] {
  if (slice.addressType === "FQDN" || !Array.isArray(slice.endpoints)) return [];
  const ips: string[] = [];
  for (const ep of slice.endpoints) {
    if (Array.isArray(ep?.addresses)) for (const a of ep.addresses) if (typeof a === "string") ips.push(a);
  }
  return ips;
}

function podIPs(pod: KubeObject): string[] {
  const st = pod.status ?? {};
  const ips = new Set<string>();
  if (typeof st.podIP === "string" && st.podIP !== "") ips.add(st.podIP);
  if (Array.isArray(st.podIPs))
    for (const p of st.podIPs) if (typeof p?.ip === "string" && p.ip) ips.add(p.ip);
  return [...ips];
}

function sliceService(slice: KubeObject): string | undefined {
  const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return svc ? `${slice.metadata?.namespace ?? ""}/${svc}` : undefined;
}

export class InformerClusterView implements ClusterView {
  private readonly factory: SharedInformerFactory;
  private readonly services: SharedIndexInformer;
  private readonly slices: SharedIndexInformer;
  private readonly pods: SharedIndexInformer;
  private lastChange = Math.floor(Date.now() / 1000);

  constructor(client: RestClient, log?: (m: string) => void) {
    this.factory = new SharedInformerFactory(client, log ? { log } : {});
    this.services = this.factory.forResource(GVR.services);
    this.slices = this.factory.forResource(GVR.endpointslices);
    this.pods = this.factory.forResource(GVR.pods);
    this.services.addIndexers({ [BY_IP]: serviceIPs });
    this.slices.addIndexers({
      [BY_IP]: sliceIPs,
      [BY_SERVICE]: (s) => {
        const key = sliceService(s);
        return key ? [key] : [];
      },
    });
    this.pods.addIndexers({ [BY_IP]: podIPs });
    const touch = () => {
      this.lastChange = Math.floor(Date.now() / 1000);
    };
    for (const inf of [this.services, this.slices, this.pods]) {
      inf.addEventHandler({ onAdd: touch, onUpdate: touch, onDelete: touch });
    }
  }

  start(): void {
    this.factory.start();
  }

  synced(): boolean {
    return this.services.hasSynced() && this.slices.hasSynced() && this.pods.hasSynced();
  }

  stop(): Promise<void> {
    return this.factory.shutdown();
  }

  serial(): number {
    return this.lastChange;
  }

  service(namespace: string, name: string): DnsService | undefined {
    const obj = this.services.indexer.get(`${namespace}/${name}`);
    return obj === undefined ? undefined : toDnsService(obj);
  }

  endpoints(namespace: string, service: string): DnsEndpoint[] {
    const svc = this.services.indexer.get(`${namespace}/${service}`);
    if (svc === undefined) return [];
    const all =
      svc.spec?.publishNotReadyAddresses === true || svc.metadata?.annotations?.[TOLERATE_UNREADY] === "true";
    const out: DnsEndpoint[] = [];
    for (const slice of this.slices.indexer.byIndex(BY_SERVICE, `${namespace}/${service}`)) {
      out.push(...sliceEndpoints(slice, all));
    }
    return out;
  }

  namespaceExists(namespace: string): boolean {
    return (
      this.services.indexer.byIndex("namespace", namespace).length > 0 ||
      this.pods.indexer.byIndex("namespace", namespace).length > 0
    );
  }

  podHasIP(namespace: string, ip: string): boolean {
    return this.pods.indexer.byIndex(BY_IP, ip).some((p) => p.metadata?.namespace === namespace);
  }

  namesForIP(ip: string): string[] {
    const names = new Set<string>();
    for (const svc of this.services.indexer.byIndex(BY_IP, ip)) {
      names.add(`${svc.metadata?.name}.${svc.metadata?.namespace}.svc`);
    }
    for (const slice of this.slices.indexer.byIndex(BY_IP, ip)) {
      const key = sliceService(slice);
      if (key === undefined) continue;
      const [ns, svcName] = key.split("/") as [string, string];
      for (const ep of this.endpoints(ns, svcName)) {
        if (ep.ip === ip) names.add(`${ep.hostname}.${svcName}.${ns}.svc`);
      }
    }
    return [...names];
  }
}

export function toDnsService(obj: KubeObject): DnsService {
  const spec = obj.spec ?? {};
  const svc: DnsService = {
    namespace: obj.metadata?.namespace ?? "",
    name: obj.metadata?.name ?? "",
    headless: spec.clusterIP === "None",
    clusterIPs: serviceIPs(obj),
    ports: toPorts(spec.ports),
  };
  if (spec.type === "ExternalName" && isDnsName(spec.externalName)) {
    svc.externalName = spec.externalName;
  }
  return svc;
}

/** A name dns-packet can encode as given: labels of 1 to 63 letters, digits, "-" or "_". */
function isDnsName(name: unknown): name is string {
  if (typeof name !== "string" || name.length === 0 || name.length > 253) return false;
  return name
    .replace(/\.$/, "")
    .split(".")
    .every((l) => /^[A-Za-z0-9_-]{1,63}$/.test(l));
}

/** The endpoints of one slice: ready ones (ready unset counts as ready, as upstream), or all. */
export function sliceEndpoints(slice: KubeObject, includeNotReady: boolean): DnsEndpoint[] {
  if (slice.addressType === "FQDN" || !Array.isArray(slice.endpoints)) return [];
  const ports = toPorts(slice.ports);
  const out: DnsEndpoint[] = [];
  for (const ep of slice.endpoints) {
    if (!includeNotReady && ep?.conditions?.ready === false) continue;
    if (!Array.isArray(ep?.addresses)) continue;
    for (const ip of ep.addresses) {
      if (typeof ip !== "string" || ip === "") continue;
      const given = typeof ep.hostname === "string" ? ep.hostname.toLowerCase() : "";
      out.push({ ip, hostname: /^[a-z0-9-]{1,63}$/.test(given) ? given : dashedIP(ip), ports });
    }
  }
  return out;
}
