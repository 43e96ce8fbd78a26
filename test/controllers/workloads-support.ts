// Helpers shared by the replicaset and deployment controller tests: per-test namespaces, object
// builders, and a RestClient that can intercept requests (to inject conflicts or act mid-sync).
import { isStatusError, type KubeObject } from "../../src/api/index.js";
import { type ResourceClient, RestClient, type RestRequest } from "../../src/client/index.js";
import type { ControllerTestEnv } from "./harness.js";

export const PODS = { group: "", version: "v1", resource: "pods" };
export const RS = { group: "apps", version: "v1", resource: "replicasets" };
export const DEPLOY = { group: "apps", version: "v1", resource: "deployments" };
export const EVENTS = { group: "", version: "v1", resource: "events" };

export async function namespace(env: ControllerTestEnv, name: string): Promise<void> {
  await env.client
    .resource({ group: "", version: "v1", resource: "namespaces" })
    .create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

export function podTemplate(labels: Record<string, string>, image = "nginx:1.25"): KubeObject {
  return { metadata: { labels }, spec: { containers: [{ name: "c", image }] } };
}

export function replicaSet(
  name: string,
  ns: string,
  replicas: number,
  labels: Record<string, string>,
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, namespace: ns },
    spec: { replicas, selector: { matchLabels: labels }, template: podTemplate(labels) },
  };
}

/** Pods that exist and are not being deleted. */
export async function livePods(pods: ResourceClient, selector: string): Promise<KubeObject[]> {
  return (await pods.list({ labelSelector: selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

export async function eventReasons(env: ControllerTestEnv, ns: string, name: string): Promise<string[]> {
  const list = await env.client.resource(EVENTS, ns).list();
  return list.items.filter((e) => e.involvedObject?.name === name).map((e) => `${e.reason}: ${e.message}`);
}

export type Interceptor = (req: RestRequest) => Promise<void> | void;

/** A RestClient whose requests first pass through `intercept`, which may throw or act. */
export class InterceptingClient extends RestClient {
  intercept: Interceptor = () => {};

  override async request<T = unknown>(req: RestRequest): Promise<T> {
    await this.intercept(req);
    return super.request<T>(req);
  }
}

export function deployment(
  name: string,
  ns: string,
  replicas: number,
  extra: {
    image?: string;
    strategy?: unknown;
    revisionHistoryLimit?: number;
    progressDeadlineSeconds?: number;
  } = {},
): KubeObject {
  const labels = { app: name };
  const spec: Record<string, unknown> = {
    replicas,
    selector: { matchLabels: labels },
    template: podTemplate(labels, extra.image),
  };
  if (extra.strategy !== undefined) spec.strategy = extra.strategy;
  if (extra.revisionHistoryLimit !== undefined) spec.revisionHistoryLimit = extra.revisionHistoryLimit;
  if (extra.progressDeadlineSeconds !== undefined)
    spec.progressDeadlineSeconds = extra.progressDeadlineSeconds;
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: ns }, spec };
}

/**
 * kubectl rollout status's verdict for a deployment (polymorphichelpers' DeploymentStatusViewer):
 * done, still waiting (with kubectl's reason), or failed on the progress deadline.
 */
export function rolloutVerdict(d: KubeObject): { done: boolean; message: string; failed?: boolean } {
  const spec = d.spec ?? {};
  const status = d.status ?? {};
  if ((d.metadata?.generation ?? 0) > (status.observedGeneration ?? 0))
    return { done: false, message: "Waiting for deployment spec update to be observed..." };
  const progressing = (status.conditions ?? []).find((c: { type: string }) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded")
    return {
      done: false,
      failed: true,
      message: `deployment "${d.metadata?.name}" exceeded its progress deadline`,
    };
  const updated = status.updatedReplicas ?? 0;
  if (spec.replicas !== undefined && updated < spec.replicas)
    return { done: false, message: `${updated} out of ${spec.replicas} new replicas have been updated...` };
  if ((status.replicas ?? 0) > updated)
    return {
      done: false,
      message: `${(status.replicas ?? 0) - updated} old replicas are pending termination...`,
    };
  if ((status.availableReplicas ?? 0) < updated)
    return {
      done: false,
      message: `${status.availableReplicas ?? 0} of ${updated} updated replicas are available...`,
    };
  return { done: true, message: `deployment "${d.metadata?.name}" successfully rolled out` };
}

/** The ReplicaSets a deployment owns, oldest first. */
export async function replicaSetsOf(rsClient: ResourceClient, d: KubeObject): Promise<KubeObject[]> {
  const all = (await rsClient.list()).items;
  return all
    .filter((rs) => rs.metadata?.ownerReferences?.some((r) => r.uid === d.metadata?.uid && r.controller))
    .sort(
      (a, b) =>
        Number(a.metadata?.annotations?.["deployment.kubernetes.io/revision"] ?? 0) -
        Number(b.metadata?.annotations?.["deployment.kubernetes.io/revision"] ?? 0),
    );
}

/** What `kubectl set image` does: read, change the first container's image, write; retried on 409. */
export async function updateImage(deploys: ResourceClient, name: string, image: string): Promise<KubeObject> {
  for (;;) {
    const live = await deploys.get(name);
    live.spec.template.spec.containers[0].image = image;
    try {
      return await deploys.update(live);
    } catch (err) {
      if (!(isStatusError(err) && err.code === 409)) throw err;
    }
  }
}
