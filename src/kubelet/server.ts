// The kubelet's HTTP endpoint on nodeIP:port (upstream's 10250, plain HTTP here): /healthz,
// /metrics, /pods (the PodList it runs) and /containerLogs/{ns}/{pod}/{container} with kubectl's
// log options, which the apiserver's pods/log passes through. Log errors carry upstream's words.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { KubeObject } from "../api/index.js";
import type { ContainerStatus } from "../runtime/index.js";
import { type LogOptions, writeContainerLog } from "./logs.js";
import type { PodState } from "./podstate.js";
import { lastTerminated, type PodStatusView } from "./podstatus.js";

export interface KubeletHost {
  runningPods(): KubeObject[];
  findPod(namespace: string, name: string): PodState | undefined;
  specHas(state: PodState, container: string): boolean;
  statusView(state: PodState): PodStatusView;
  /** Whether the runtime container still runs (follow ends once it stopped and its log is written). */
  containerRunning(id: string): boolean;
}

export interface KubeletServerOptions {
  host: string;
  port: number;
  registry: Registry;
  kubelet: KubeletHost;
  log?: (m: string) => void;
}

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v !== null && v !== "false" && v !== "0";
}

function int(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new HttpError(400, `${name}: must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** kubectl's log query parameters as LogOptions; bad values are a 400. */
export function logOptions(q: URLSearchParams): LogOptions {
  const o: LogOptions = {
    follow: flag(q, "follow"),
    previous: flag(q, "previous"),
    timestamps: flag(q, "timestamps"),
  };
  const tail = int(q, "tailLines", 0);
  if (tail !== undefined) o.tailLines = tail;
  const since = int(q, "sinceSeconds", 1);
  if (since !== undefined) o.sinceSeconds = since;
  const limit = int(q, "limitBytes", 1);
  if (limit !== undefined) o.limitBytes = limit;
  const sinceTime = q.get("sinceTime");
  if (sinceTime) {
    const t = new Date(sinceTime);
    if (Number.isNaN(t.getTime()))
      throw new HttpError(400, `sinceTime: invalid time ${JSON.stringify(sinceTime)}`);
    o.sinceTime = t;
  }
  return o;
}

/** Which container's log the request means, as upstream's validateContainerLogStatus decides. */
export function logContainer(
  host: KubeletHost,
  ns: string,
  podName: string,
  container: string,
  previous: boolean,
): ContainerStatus {
  const state = host.findPod(ns, podName);
  if (state === undefined) throw new HttpError(404, `pod "${podName}" does not exist`);
  if (!host.specHas(state, container))
    throw new HttpError(404, `container "${container}" not found in pod "${podName}"`);
  const view = host.statusView(state);
  const v = [...view.init, ...view.containers].find((x) => x.name === container);
  if (v === undefined)
    throw new HttpError(400, `container "${container}" in pod "${podName}" is not available`);
  if (previous) {
    const last = lastTerminated(v);
    if (last === undefined)
      throw new HttpError(400, `previous terminated container "${container}" in pod "${podName}" not found`);
    return last;
  }
  if (v.current === undefined) {
    const reason = v.waiting?.reason ?? "ContainerCreating";
    throw new HttpError(400, `container "${container}" in pod "${podName}" is waiting to start: ${reason}`);
  }
  return v.current;
}

export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const log = opts.log ?? (() => {});
  const send = (res: ServerResponse, code: number, body: string, type = "text/plain; charset=utf-8") => {
    res.writeHead(code, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  };
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://kubelet");
    const path = url.pathname;
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "method not allowed\n");
    if (path === "/healthz") return send(res, 200, "ok");
    if (path === "/metrics") return send(res, 200, await opts.registry.metrics(), opts.registry.contentType);
    if (path === "/pods" || path === "/pods/") {
      const list = { kind: "PodList", apiVersion: "v1", metadata: {}, items: opts.kubelet.runningPods() };
      return send(res, 200, JSON.stringify(list), "application/json");
    }
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(path);
    if (m) {
      const [ns, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
      const o = logOptions(url.searchParams);
      const target = logContainer(opts.kubelet, ns, pod, container, o.previous === true);
      const abort = new AbortController();
      res.on("close", () => abort.abort());
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Transfer-Encoding": "chunked" });
      await writeContainerLog(target.logPath, { ...o, previous: false }, res, abort.signal, () =>
        opts.kubelet.containerRunning(target.id),
      );
      res.end();
      return;
    }
    send(res, 404, "404 page not found\n");
  }
  const server: Server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        log(`kubelet server ${req.url}: ${(err as Error).message}`);
        res.destroy();
        return;
      }
      if (err instanceof HttpError) send(res, err.code, err.message);
      else send(res, 500, (err as Error).message ?? String(err));
    });
  });
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
