// The endpointslice controller: for every Service with a selector, discovery.k8s.io/v1
// EndpointSlices (addressType IPv4, owned by the Service, labelled kubernetes.io/service-name and
// endpointslice.kubernetes.io/managed-by) holding one endpoint per matching pod with its
// ready/serving/terminating conditions. Endpoints are grouped by resolved port set, at most 100 per
// slice; slices are written only when their content changes, and removed with the service.
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

const SLICES = { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" };
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const CONTROLLER_NAME = "endpointslice-controller.k8s.io";
export const MAX_ENDPOINTS_PER_SLICE = 100;
const SERVICE_INDEX = "service";

interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  nodeName?: string;
  targetRef: Record<string, string>;
}

interface SliceContent {
  ports: Array<{ name: string; port: number; protocol: string; appProtocol?: string }>;
  endpoints: SliceEndpoint[];
}

/** The desired slices' content for a service over the given pods, in a stable order. */
export function desiredSlices(svc: KubeObject, pods: KubeObject[]): SliceContent[] {
  const svcPorts = (svc.spec?.ports ?? []) as ServicePort[];
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, SliceContent>();
  for (const pod of pods) {
    if (!hasAddress(pod)) continue;
    const ports: SliceContent["ports"] = [];
    for (const sp of svcPorts) {
      const port = resolveTargetPort(sp, pod);
      if (port === undefined) continue;
      const entry: SliceContent["ports"][number] = {
        name: sp.name ?? "",
        port,
        protocol: sp.protocol ?? "TCP",
      };
      if (sp.appProtocol) entry.appProtocol = sp.appProtocol;
      ports.push(entry);
    }
    const terminating = isTerminating(pod);
    const serving = publishNotReady || isPodReady(pod);
    const endpoint: SliceEndpoint = {
      addresses: [pod.status.podIP],
      conditions: { ready: serving && !terminating, serving, terminating },
      targetRef: podReference(pod),
    };
    if (pod.spec?.nodeName) endpoint.nodeName = pod.spec.nodeName;
    const key = canonical(ports);
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { ports, endpoints: [] }));
    group.endpoints.push(endpoint);
  }
  const out: SliceContent[] = [];
  for (const [, group] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    group.endpoints.sort((a, b) =>
      a.targetRef.name < b.targetRef.name ? -1 : a.targetRef.name > b.targetRef.name ? 1 : 0,
    );
    for (let i = 0; i < group.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE)
      out.push({ ports: group.ports, endpoints: group.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
  }
  return out;
}

function contentOf(slice: KubeObject): string {
  return canonical({ ports: slice.ports ?? [], endpoints: slice.endpoints ?? [] });
}

function sliceLabels(svc: KubeObject): Record<string, string> {
  return {
    ...(svc.metadata?.labels ?? {}),
    [SERVICE_NAME_LABEL]: svc.metadata?.name ?? "",
    [MANAGED_BY_LABEL]: CONTROLLER_NAME,
  };
}

function isOwnedBy(slice: KubeObject, svc: KubeObject): boolean {
  return (slice.metadata?.ownerReferences ?? []).some(
    (r) => r.kind === "Service" && r.uid === svc.metadata?.uid,
  );
}

/**
 * What this controller last wrote per service (slice name → resourceVersion, or DELETED), so a
 * reconcile running before the cache has caught up with our own writes waits instead of creating
 * duplicates, as upstream's EndpointSliceTracker.
 */
class SliceTracker {
  private readonly written = new Map<string, Map<string, string>>();

  note(serviceKey: string, sliceName: string, rv: string): void {
    let m = this.written.get(serviceKey);
    if (m === undefined) this.written.set(serviceKey, (m = new Map()));
    m.set(sliceName, rv);
  }

  /** True while the cache lacks one of our writes; forgets writes the cache has seen. */
  stale(serviceKey: string, cached: KubeObject[]): boolean {
    const m = this.written.get(serviceKey);
    if (m === undefined) return false;
    const byName = new Map(cached.map((s) => [s.metadata?.name ?? "", s]));
    for (const [name, rv] of m) {
      const have = byName.get(name);
      const seen =
        rv === DELETED
          ? have === undefined
          : have !== undefined && Number(have.metadata?.resourceVersion) >= Number(rv);
      if (seen) m.delete(name);
    }
    if (m.size === 0) this.written.delete(serviceKey);
    return m.size > 0;
  }
}

const DELETED = "deleted";
const STALE_RETRY_MS = 50;

type SliceClient = ReturnType<ControllerContext["client"]["resource"]>;

async function reconcileSlices(
  ctx: ControllerContext,
  key: string,
  inf: ServicePodInformers,
  slices: ServicePodInformers["pods"],
  tracker: SliceTracker,
): Promise<{ requeueAfterMs: number } | undefined> {
  const { namespace, name } = splitKey(key);
  const client = ctx.client.resource(SLICES, namespace);
  const existing = slices.lister.byIndex(SERVICE_INDEX, key);
  if (tracker.stale(key, existing)) return { requeueAfterMs: STALE_RETRY_MS };
  const svc = inf.services.lister.get(namespace, name);
  const selector = svc === undefined ? undefined : serviceSelector(svc);
  if (svc === undefined || selector === undefined) {
    for (const s of existing) await deleteSlice(client, s, key, tracker);
    return undefined;
  }
  const desired = desiredSlices(svc, inf.pods.lister.list(selector, namespace));
  // A service without endpoints keeps one empty slice, as upstream does.
  if (desired.length === 0) desired.push({ ports: [], endpoints: [] });
  const labels = sliceLabels(svc);
  // Slices left by an earlier service of the same name (another uid) go.
  for (const s of existing) if (!isOwnedBy(s, svc)) await deleteSlice(client, s, key, tracker);
  const reusable = existing
    .filter((s) => isOwnedBy(s, svc))
    .sort((a, b) => ((a.metadata?.name ?? "") < (b.metadata?.name ?? "") ? -1 : 1));
  const unmatched: SliceContent[] = [];
  for (const want of desired) {
    const i = reusable.findIndex(
      (s) => contentOf(s) === canonical(want) && canonical(s.metadata?.labels ?? {}) === canonical(labels),
    );
    if (i >= 0) reusable.splice(i, 1);
    else unmatched.push(want);
  }
  for (const want of unmatched) {
    const slice = reusable.shift();
    const written =
      slice !== undefined
        ? await client.update({ ...slice, metadata: { ...slice.metadata, labels }, ...want })
        : await client.create({
            apiVersion: "discovery.k8s.io/v1",
            kind: "EndpointSlice",
            metadata: { generateName: `${name}-`, namespace, labels, ownerReferences: [serviceOwner(svc)] },
            addressType: "IPv4",
            ...want,
          });
    tracker.note(key, written.metadata?.name ?? "", written.metadata?.resourceVersion ?? "0");
  }
  for (const s of reusable) await deleteSlice(client, s, key, tracker);
  return undefined;
}

function serviceOwner(svc: KubeObject) {
  return {
    apiVersion: "v1",
    kind: "Service",
    name: svc.metadata?.name ?? "",
    uid: svc.metadata?.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

async function deleteSlice(
  client: SliceClient,
  slice: KubeObject,
  key: string,
  tracker: SliceTracker,
): Promise<void> {
  try {
    await client.delete(slice.metadata?.name ?? "", { preconditions: { uid: slice.metadata?.uid ?? "" } });
    tracker.note(key, slice.metadata?.name ?? "", DELETED);
  } catch (err) {
    if (!(isStatusError(err) && (err.code === 404 || err.code === 409))) throw err;
  }
}

export const endpointSliceController: Controller = {
  name: "endpointslice",
  async start(ctx: ControllerContext): Promise<void> {
    const slices = ctx.informers.forResource(SLICES, {
      labelSelector: `${MANAGED_BY_LABEL}=${CONTROLLER_NAME}`,
    });
    slices.addIndexers({
      [SERVICE_INDEX]: (s) => {
        const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
        return svc === undefined ? [] : [`${s.metadata?.namespace}/${svc}`];
      },
    });
    const tracker = new SliceTracker();
    runServiceController(
      ctx,
      "endpointslice",
      "FailedToUpdateEndpointSlices",
      (_inf, queue) => {
        const enqueue = (s: KubeObject) => {
          const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
          if (svc !== undefined) queue.add(`${s.metadata?.namespace}/${svc}`);
        };
        slices.addEventHandler({
          onUpdate: (_o, n) => enqueue(n),
          onDelete: (o) => enqueue(deletedObject(o)),
        });
      },
      (key, inf) => reconcileSlices(ctx, key, inf, slices, tracker),
    );
  },
};
