// The endpoints controller: for every Service with a selector, an Endpoints object of the same name
// whose subsets list the matching pods' IPs (ready ones in addresses, the others in
// notReadyAddresses) with the service ports resolved against each pod. The object is written only
// when its content changes, so pod updates that do not touch readiness, IP or ports cause no churn.
// Endpoints of services without a selector belong to whoever wrote them and are left alone.
import { isStatusError, type KubeObject } from "../../api/index.js";
import { deletedObject, splitKey } from "../../client/index.js";
import type { Controller, ControllerContext } from "../context.js";
import {
  canonical,
  hasAddress,
  isPodReady,
  isTerminating,
  podReference,
  resolveTargetPort,
  type ServicePort,
  serviceSelector,
} from "./pods.js";
import { runServiceController, type ServicePodInformers } from "./wiring.js";

const ENDPOINTS = { group: "", version: "v1", resource: "endpoints" };

interface EndpointAddress {
  ip: string;
  nodeName?: string;
  targetRef: Record<string, string>;
}

interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: Array<{ name?: string; port: number; protocol: string; appProtocol?: string }>;
}

const byAddress = (a: EndpointAddress, b: EndpointAddress) =>
  a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.targetRef.name < b.targetRef.name ? -1 : 1;

/** The subsets for a service over the given pods, grouped by resolved port set, in a stable order. */
export function desiredSubsets(svc: KubeObject, pods: KubeObject[]): EndpointSubset[] {
  const svcPorts = (svc.spec?.ports ?? []) as ServicePort[];
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, EndpointSubset>();
  for (const pod of pods) {
    if (!hasAddress(pod) || (isTerminating(pod) && !publishNotReady)) continue;
    const address: EndpointAddress = { ip: pod.status.podIP, targetRef: podReference(pod) };
    if (pod.spec?.nodeName) address.nodeName = pod.spec.nodeName;
    const ports: NonNullable<EndpointSubset["ports"]> = [];
    for (const sp of svcPorts) {
      const port = resolveTargetPort(sp, pod);
      if (port === undefined) continue;
      const entry: (typeof ports)[number] = { port, protocol: sp.protocol ?? "TCP" };
      if (sp.name) entry.name = sp.name;
      if (sp.appProtocol) entry.appProtocol = sp.appProtocol;
      ports.push(entry);
    }
    // A pod offering none of the service's ports is no endpoint (unless the service has no ports).
    if (svcPorts.length > 0 && ports.length === 0) continue;
    const key = canonical(ports);
    let subset = groups.get(key);
    if (subset === undefined) groups.set(key, (subset = ports.length > 0 ? { ports } : {}));
    const ready = publishNotReady || isPodReady(pod);
    const list = ready ? (subset.addresses ??= []) : (subset.notReadyAddresses ??= []);
    list.push(address);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, s]) => {
      s.addresses?.sort(byAddress);
      s.notReadyAddresses?.sort(byAddress);
      return s;
    });
}

function desiredLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
  if (svc.spec?.clusterIP === "None") labels["service.kubernetes.io/headless"] = "";
  return labels;
}

async function reconcileEndpoints(
  ctx: ControllerContext,
  key: string,
  inf: ServicePodInformers,
  endpoints: ServicePodInformers["pods"],
): Promise<undefined> {
  const { namespace, name } = splitKey(key);
  const client = ctx.client.resource(ENDPOINTS, namespace);
  const svc = inf.services.lister.get(namespace, name);
  if (svc === undefined) {
    const existing = endpoints.lister.get(namespace, name);
    if (existing === undefined) return;
    try {
      await client.delete(name, { preconditions: { uid: existing.metadata?.uid ?? "" } });
    } catch (err) {
      if (!(isStatusError(err) && (err.code === 404 || err.code === 409))) throw err;
    }
    return;
  }
  const selector = serviceSelector(svc);
  if (selector === undefined) return;
  const pods = inf.pods.lister.list(selector, namespace);
  const subsets = desiredSubsets(svc, pods);
  const labels = desiredLabels(svc);
  const current = endpoints.lister.get(namespace, name);
  if (current === undefined) {
    // AlreadyExists (409) means the cache has not seen an earlier create yet: the retry will.
    await client.create({
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name, namespace, labels },
      subsets,
    });
    return;
  }
  if (
    canonical(current.subsets ?? []) === canonical(subsets) &&
    canonical(current.metadata?.labels ?? {}) === canonical(labels)
  )
    return;
  const next: KubeObject = { ...current, metadata: { ...current.metadata, labels }, subsets };
  await client.update(next);
}

export const endpointsController: Controller = {
  name: "endpoint",
  async start(ctx: ControllerContext): Promise<void> {
    const endpoints = ctx.informers.forResource(ENDPOINTS);
    runServiceController(
      ctx,
      "endpoint",
      "FailedToUpdateEndpoint",
      (_inf, queue) => {
        // Someone else changing or deleting our Endpoints brings the service back for a check.
        const enqueue = (ep: KubeObject) => queue.add(`${ep.metadata?.namespace}/${ep.metadata?.name}`);
        endpoints.addEventHandler({
          onUpdate: (_o, n) => enqueue(n),
          onDelete: (o) => enqueue(deletedObject(o)),
        });
      },
      (key, inf) => reconcileEndpoints(ctx, key, inf, endpoints),
    );
  },
};
