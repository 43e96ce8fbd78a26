// The objects every cluster has from its first start, as upstream's bootstrap controllers make
// them: the namespaces default, kube-system, kube-public and kube-node-lease, and the
// `kubernetes` service in default (the first IP of the service range, 443 → the apiserver's
// port) with its endpoints. Idempotent: existing objects are kept, and the service's target
// port and endpoints follow the port this run serves on.
import { randomUUID } from "node:crypto";
import { isStatusError, type KubeObject } from "../../api/index.js";
import type { ObjectStore, ResourceDef } from "../types.js";

export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export interface BootstrapRegistry {
  lookup(group: string, version: string, resource: string): ResourceDef | undefined;
}

export interface BootstrapOptions {
  store: ObjectStore;
  registry: BootstrapRegistry;
  /** e.g. "10.96.0.0/12". */
  serviceClusterIpRange: string;
  /** The address and port clients inside the cluster reach the apiserver on. */
  endpointIp: string;
  port: number;
  now?: Date;
}

/** The first usable address of an IPv4 CIDR ("10.96.0.0/12" → "10.96.0.1"). */
export function firstServiceIp(cidr: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  const octets = match?.slice(1, 5).map(Number) ?? [];
  const bits = Number(match?.[5]);
  if (!match || octets.some((o) => o > 255) || bits > 30) {
    throw new Error(`invalid service cluster IP range "${cidr}": want an IPv4 CIDR such as 10.96.0.0/12`);
  }
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const first = address - (address % size) + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(first / 2 ** shift) % 256).join(".");
}

function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

function need(registry: BootstrapRegistry, resource: string): ResourceDef {
  const def = registry.lookup("", "v1", resource);
  if (!def) throw new Error(`the resource registry has no core v1 ${resource}`);
  return def;
}

async function getIfExists(
  store: ObjectStore,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
) {
  try {
    return await store.get(def, namespace, name);
  } catch (err) {
    if (isStatusError(err) && err.code === 404) return undefined;
    throw err;
  }
}

/** Creates obj unless it exists; with `sync`, rewrites the existing one when sync says so. */
async function ensure(
  store: ObjectStore,
  def: ResourceDef,
  obj: KubeObject,
  now: Date,
  sync?: (current: KubeObject) => KubeObject | undefined,
): Promise<"created" | "updated" | "kept"> {
  const namespace = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  const current = await getIfExists(store, def, namespace, name);
  if (!current) {
    const full: KubeObject = {
      ...obj,
      metadata: { ...obj.metadata, uid: randomUUID(), creationTimestamp: rfc3339(now) },
    };
    def.defaults?.(full);
    try {
      await store.create(def, full);
      return "created";
    } catch (err) {
      // Another apiserver made it first.
      if (isStatusError(err) && err.code === 409) return "kept";
      throw err;
    }
  }
  const wanted = sync?.(current);
  if (!wanted) return "kept";
  await store.guaranteedUpdate(def, namespace, name, (latest) => sync?.(latest) ?? latest);
  return "updated";
}

/** Makes the bootstrap objects; returns what it did per object, for the start-up log. */
export async function bootstrapCluster(opts: BootstrapOptions): Promise<string[]> {
  const now = opts.now ?? new Date();
  const namespaces = need(opts.registry, "namespaces");
  const services = need(opts.registry, "services");
  const endpoints = need(opts.registry, "endpoints");
  const done: string[] = [];
  for (const name of SYSTEM_NAMESPACES) {
    const ns: KubeObject = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels: { "kubernetes.io/metadata.name": name } },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    };
    done.push(`namespace/${name} ${await ensure(opts.store, namespaces, ns, now)}`);
  }
  const clusterIp = firstServiceIp(opts.serviceClusterIpRange);
  const port = { name: "https", protocol: "TCP", port: 443, targetPort: opts.port };
  const service: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "kubernetes",
      namespace: "default",
      labels: { component: "apiserver", provider: "kubernetes" },
    },
    spec: {
      type: "ClusterIP",
      clusterIP: clusterIp,
      clusterIPs: [clusterIp],
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      ports: [port],
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
    },
    status: { loadBalancer: {} },
  };
  const serviceResult = await ensure(opts.store, services, service, now, (current) => {
    const spec = (current.spec ?? {}) as { ports?: Array<Record<string, unknown>> };
    const same = spec.ports?.length === 1 && spec.ports[0]?.targetPort === opts.port;
    return same ? undefined : { ...current, spec: { ...spec, ports: [port] } };
  });
  done.push(`service/kubernetes ${serviceResult}`);
  const subsets = [
    { addresses: [{ ip: opts.endpointIp }], ports: [{ name: "https", port: opts.port, protocol: "TCP" }] },
  ];
  const ep: KubeObject = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      name: "kubernetes",
      namespace: "default",
      labels: { "endpointslice.kubernetes.io/skip-mirror": "true" },
    },
    subsets,
  };
  const epResult = await ensure(opts.store, endpoints, ep, now, (current) =>
    JSON.stringify(current.subsets) === JSON.stringify(subsets) ? undefined : { ...current, subsets },
  );
  done.push(`endpoints/kubernetes ${epResult}`);
  return done;
}
