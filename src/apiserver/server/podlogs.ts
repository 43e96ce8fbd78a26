// The apiserver's default pods/log: it picks the container as upstream does (the only one, or the
// kubectl.kubernetes.io/default-container annotation, else a 400 listing the choices), finds the
// pod's node's InternalIP and kubelet port, and streams GET /containerLogs/... from that kubelet
// to the client, query passed through. follow streams until either side goes away; a kubelet
// error answer becomes a Status with its code and text, an unreachable kubelet a 500 Status.

import type { ServerResponse } from "node:http";
import { request } from "node:http";
import { badRequest, type KubeObject, makeStatus, StatusError, type StatusReason } from "../../api/index.js";
import type { ObjectStore, ResourceDef } from "../types.js";

const DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container";
/** The most of a kubelet error body kept in the Status message. */
const MAX_ERROR_BYTES = 4096;
const LOG_PARAMS = [
  "follow",
  "previous",
  "tailLines",
  "timestamps",
  "sinceSeconds",
  "sinceTime",
  "limitBytes",
];

export interface PodLogsOptions {
  store: ObjectStore;
  registry: { lookup(group: string, version: string, resource: string): ResourceDef | undefined };
}

function names(pod: KubeObject, key: string): string[] {
  const list = pod.spec?.[key];
  return Array.isArray(list) ? list.map((c: KubeObject) => String(c?.name)) : [];
}

/** Upstream's validateContainer, with kubectl's default-container annotation honoured. */
export function logContainerName(pod: KubeObject, requested: string | null): string {
  const podName = pod.metadata?.name ?? "";
  const all = [
    ...names(pod, "initContainers"),
    ...names(pod, "containers"),
    ...names(pod, "ephemeralContainers"),
  ];
  if (requested) {
    if (!all.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${podName}`);
    return requested;
  }
  const annotated = pod.metadata?.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  if (annotated && all.includes(annotated)) return annotated;
  const containers = names(pod, "containers");
  if (containers.length === 1) return containers[0] as string;
  if (containers.length === 0) throw badRequest(`a container name must be specified for pod ${podName}`);
  throw badRequest(
    `a container name must be specified for pod ${podName}, choose one of: [${all.join(" ")}]`,
  );
}

/** Where the node's kubelet listens: its InternalIP (else the first address) and daemon port. */
export function kubeletAddress(node: KubeObject): { host: string; port: number } {
  const addresses: KubeObject[] = Array.isArray(node.status?.addresses) ? node.status.addresses : [];
  const host = (addresses.find((a) => a?.type === "InternalIP") ?? addresses[0])?.address;
  const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port);
  const name = node.metadata?.name;
  if (!host)
    throw new StatusError(
      makeStatus(500, "InternalError", `node ${name} has no address to reach its kubelet`),
    );
  if (!Number.isInteger(port) || port <= 0)
    throw new StatusError(
      makeStatus(500, "InternalError", `node ${name} reports no kubelet port (status.daemonEndpoints)`),
    );
  return { host, port };
}

function reasonFor(code: number): StatusReason {
  return code === 400
    ? "BadRequest"
    : code === 404
      ? "NotFound"
      : code === 403
        ? "Forbidden"
        : "InternalError";
}

export function createPodLogs(opts: PodLogsOptions) {
  return async (pod: KubeObject, query: URLSearchParams, res: ServerResponse): Promise<void> => {
    const nodeName = pod.spec?.nodeName;
    const podName = pod.metadata?.name ?? "";
    if (!nodeName) throw badRequest(`pod ${podName} does not have a host assigned`);
    const container = logContainerName(pod, query.get("container"));
    const nodes = opts.registry.lookup("", "v1", "nodes");
    if (!nodes) throw new StatusError(makeStatus(500, "InternalError", "nodes are not a served resource"));
    let node: KubeObject;
    try {
      node = await opts.store.get(nodes, undefined, nodeName);
    } catch (err) {
      if (err instanceof StatusError && err.status.code === 404)
        throw new StatusError(
          makeStatus(500, "InternalError", `node "${nodeName}" of pod ${podName} not found`),
        );
      throw err;
    }
    const { host, port } = kubeletAddress(node);
    const params = new URLSearchParams();
    for (const p of LOG_PARAMS) {
      const v = query.get(p);
      if (v !== null) params.set(p, v);
    }
    const qs = params.toString();
    const path = `/containerLogs/${encodeURIComponent(pod.metadata?.namespace ?? "")}/${encodeURIComponent(podName)}/${encodeURIComponent(container)}${qs ? `?${qs}` : ""}`;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}${path}`;
    const abort = new AbortController();
    const onClientGone = () => abort.abort();
    res.on("close", onClientGone);
    await new Promise<void>((resolve, reject) => {
      const upstream = request(url, { method: "GET", signal: abort.signal }, (kres) => {
        const code = kres.statusCode ?? 0;
        if (code < 200 || code > 299) {
          const chunks: Buffer[] = [];
          let size = 0;
          kres.on("data", (c: Buffer) => {
            if (size < MAX_ERROR_BYTES) chunks.push(c);
            size += c.length;
          });
          kres.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8").slice(0, MAX_ERROR_BYTES).trim();
            reject(
              new StatusError(makeStatus(code, reasonFor(code), text || `the kubelet answered ${code}`)),
            );
          });
          kres.on("error", reject);
          return;
        }
        res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
        kres.pipe(res);
        kres.on("end", () => resolve());
        kres.on("error", () => {
          res.destroy();
          resolve();
        });
        kres.on("aborted", () => resolve());
        res.on("close", () => resolve());
      });
      upstream.on("error", (err) => {
        if (abort.signal.aborted) return resolve();
        reject(new StatusError(makeStatus(500, "InternalError", `Get "${url}": ${err.message}`)));
      });
      upstream.end();
    }).finally(() => res.off("close", onClientGone));
  };
}
