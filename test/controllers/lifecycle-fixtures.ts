// Objects the lifecycle controller tests (garbagecollector, namespace, serviceaccount, endpoints)
// build by hand: resource coordinates and minimal valid pods, ReplicaSets and Deployments.
import { conflict, type KubeObject, type OwnerReference } from "../../src/api/index.js";
import { RestClient, type RestConfig, type RestRequest } from "../../src/client/index.js";

export const PODS = { group: "", version: "v1", resource: "pods" };
export const CONFIGMAPS = { group: "", version: "v1", resource: "configmaps" };
export const NAMESPACES = { group: "", version: "v1", resource: "namespaces" };
export const SERVICEACCOUNTS = { group: "", version: "v1", resource: "serviceaccounts" };
export const SERVICES = { group: "", version: "v1", resource: "services" };
export const ENDPOINTS = { group: "", version: "v1", resource: "endpoints" };
export const ENDPOINTSLICES = { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" };
export const DEPLOYMENTS = { group: "apps", version: "v1", resource: "deployments" };
export const REPLICASETS = { group: "apps", version: "v1", resource: "replicasets" };

export function ownerRef(owner: KubeObject, blockOwnerDeletion = true): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? "",
    kind: owner.kind ?? "",
    name: owner.metadata?.name ?? "",
    uid: owner.metadata?.uid ?? "",
    controller: true,
    blockOwnerDeletion,
  };
}

export function pod(
  name: string,
  labels: Record<string, string>,
  opts: { owner?: OwnerReference; finalizers?: string[] } = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      labels,
      ...(opts.owner ? { ownerReferences: [opts.owner] } : {}),
      ...(opts.finalizers ? { finalizers: opts.finalizers } : {}),
    },
    spec: { containers: [{ name: "app", image: "nginx", ports: [{ name: "web", containerPort: 8080 }] }] },
  };
}

function podTemplate(labels: Record<string, string>) {
  return { metadata: { labels }, spec: { containers: [{ name: "app", image: "nginx" }] } };
}

export function deployment(name: string): KubeObject {
  const labels = { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: podTemplate(labels) },
  };
}

export function replicaSet(name: string, app: string, owner: OwnerReference): KubeObject {
  const labels = { app };
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, labels, ownerReferences: [owner] },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: podTemplate(labels) },
  };
}

export function configMap(name: string, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...meta }, data: { k: "v" } };
}

/**
 * A client whose first `times` requests matching `match` fail with 409 Conflict, as when another
 * writer got there first; the tests use it to drive the controllers' retry paths.
 */
export class ConflictingClient extends RestClient {
  conflicts = 0;

  constructor(
    config: RestConfig,
    private readonly match: (req: RestRequest) => boolean,
    private times = 1,
  ) {
    super(config);
  }

  override async request<T = unknown>(req: RestRequest): Promise<T> {
    if (this.times > 0 && this.match(req)) {
      this.times--;
      this.conflicts++;
      throw conflict("test", req.path);
    }
    return super.request<T>(req);
  }
}
