// ClusterIP and NodePort allocation for services on create and update. What is in use comes from
// listing the services (fine at this scale); the env's service lock keeps two writes from taking
// the same address between that list and their store write. Deleting a service frees its
// addresses, since they are no longer listed.
import { invalid, type KubeObject } from "../../api/index.js";
import {
  allocateServiceAddresses,
  defaultServiceCIDR,
  parseCIDR,
  parsePortRange,
} from "../resources/index.js";
import type { ResourceDef } from "../types.js";
import type { Env } from "./context.js";

export function isServices(def: ResourceDef): boolean {
  return def.group === "" && def.resource === "services";
}

async function usedAddresses(
  env: Env,
  def: ResourceDef,
  except?: string,
): Promise<{ ips: Set<string>; ports: Set<number> }> {
  const ips = new Set<string>();
  const ports = new Set<number>();
  const list = await env.store.list(def, {});
  for (const svc of list.items) {
    if (except !== undefined && svc.metadata?.uid === except) continue;
    for (const ip of Array.isArray(svc.spec?.clusterIPs) ? svc.spec.clusterIPs : [svc.spec?.clusterIP])
      if (typeof ip === "string" && ip !== "" && ip !== "None") ips.add(ip);
    for (const port of Array.isArray(svc.spec?.ports) ? svc.spec.ports : [])
      if (typeof port?.nodePort === "number" && port.nodePort > 0) ports.add(port.nodePort);
  }
  return { ips, ports };
}

/** Gives `svc` its ClusterIP and NodePorts (keeping those of `old`, the stored version, on update). */
export async function allocateServiceIPs(
  env: Env,
  def: ResourceDef,
  svc: KubeObject,
  old?: KubeObject,
): Promise<void> {
  const used = await usedAddresses(env, def, old?.metadata?.uid);
  const errs = allocateServiceAddresses(svc, {
    serviceCIDR: parseCIDR(env.opts.serviceClusterIPRange ?? defaultServiceCIDR),
    usedIPs: used.ips,
    usedNodePorts: used.ports,
    ...(env.opts.serviceNodePortRange
      ? { nodePortRange: parsePortRange(env.opts.serviceNodePortRange) }
      : {}),
    random: env.random,
  });
  if (errs.length > 0) throw invalid({ group: "", kind: "Service" }, svc.metadata?.name ?? "", errs);
}
