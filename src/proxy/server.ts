// kube-proxy's two HTTP endpoints on the node's IP: the health server (upstream :10256, /healthz
// and /livez answering JSON with lastUpdated and currentTime, 503 when a queued sync has waited
// longer than healthTimeoutMs) and the metrics server (upstream :10249, /metrics, /healthz and
// /proxyMode).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";

export const DEFAULT_HEALTHZ_PORT = 10256;
export const DEFAULT_METRICS_PORT = 10249;

export interface HealthSource {
  nodeName: string;
  now(): number;
  /** When the last sync finished (0 = never). */
  lastUpdatedMs(): number;
  /** When the oldest sync request not yet applied was queued (0 = none waiting). */
  oldestQueuedMs(): number;
  healthTimeoutMs: number;
}

export interface HttpEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

function listen(
  host: string,
  port: number,
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
): Promise<HttpEndpoint> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer((req, res) => {
      Promise.resolve(handler(req, res)).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
        res.end(`${(err as Error).message}\n`);
      });
    });
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.removeListener("error", reject);
      const addr = server.address();
      resolve({
        port: typeof addr === "object" && addr !== null ? addr.port : port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function path(req: IncomingMessage): string {
  return new URL(req.url ?? "/", "http://x").pathname;
}

/** The health answer, as upstream's ProxierHealthServer. */
export function healthStatus(src: HealthSource): { healthy: boolean; body: Record<string, unknown> } {
  const now = src.now();
  const queued = src.oldestQueuedMs();
  const healthy = queued === 0 || now - queued <= src.healthTimeoutMs;
  const last = src.lastUpdatedMs();
  return {
    healthy,
    body: {
      lastUpdated: new Date(last === 0 ? 0 : last).toISOString(),
      currentTime: new Date(now).toISOString(),
      nodeName: src.nodeName,
      nodeHealthy: true,
    },
  };
}

export function startHealthServer(host: string, port: number, src: HealthSource): Promise<HttpEndpoint> {
  return listen(host, port, (req, res) => {
    const p = path(req);
    if (p !== "/healthz" && p !== "/livez") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("404 page not found\n");
      return;
    }
    const { healthy, body } = healthStatus(src);
    res
      .writeHead(healthy ? 200 : 503, {
        "Content-Type": "application/json",
        "X-Content-Type-Options": "nosniff",
      })
      .end(JSON.stringify(body));
  });
}

export function startMetricsServer(
  host: string,
  port: number,
  registry: Registry,
  mode: string,
): Promise<HttpEndpoint> {
  return listen(host, port, async (req, res) => {
    switch (path(req)) {
      case "/metrics": {
        const text = await registry.metrics();
        res.writeHead(200, { "Content-Type": registry.contentType }).end(text);
        return;
      }
      case "/healthz":
        res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
        return;
      case "/proxyMode":
        res.writeHead(200, { "Content-Type": "text/plain" }).end(mode);
        return;
      default:
        res.writeHead(404, { "Content-Type": "text/plain" }).end("404 page not found\n");
    }
  });
}
