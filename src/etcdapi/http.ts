// The plain-HTTP endpoints etcd serves next to gRPC on its client URLs: /metrics (Prometheus
// text from the store's registry), /health (etcd's {"health":"true"} check: no alarm, a leader,
// and a read that succeeds) and /version.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { KvService } from "../store/server/types.js";

/** How long /health waits for its test read (etcd: the request timeout). */
export const HEALTH_READ_TIMEOUT_MS = 5000;

/** etcd 3.4's cluster version for a 3.4 member (/version's "etcdcluster"). */
const CLUSTER_VERSION = "3.4.0";

async function healthy(service: KvService, url: URL): Promise<boolean> {
  const excluded = new Set(url.searchParams.getAll("exclude"));
  const serializable = url.searchParams.get("serializable") === "true";
  const { alarms } = await service.alarmList();
  if (alarms.some((a) => a.alarm !== "NONE" && !excluded.has(a.alarm))) return false;
  if (!serializable && !service.hasLeader()) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("health read timed out")), HEALTH_READ_TIMEOUT_MS);
  });
  try {
    await Promise.race([service.range({ key: Buffer.from("health"), serializable }), timeout]);
    return true;
  } finally {
    clearTimeout(timer);
  }
}

export function httpHandler(service: KvService, registry: Registry | undefined) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const reply = (code: number, type: string, body: string) => {
      res.writeHead(code, { "Content-Type": type });
      res.end(body);
    };
    if (req.method !== "GET") {
      res.setHeader("Allow", "GET");
      reply(405, "text/plain; charset=utf-8", "Method Not Allowed\n");
      return;
    }
    const route = async () => {
      switch (url.pathname) {
        case "/metrics":
          if (!registry) return reply(404, "text/plain; charset=utf-8", "404 page not found\n");
          return reply(200, registry.contentType, await registry.metrics());
        case "/health": {
          const ok = await healthy(service, url).catch(() => false);
          return reply(ok ? 200 : 503, "application/json", JSON.stringify({ health: String(ok) }));
        }
        case "/version": {
          const { version } = await service.status();
          return reply(
            200,
            "application/json",
            JSON.stringify({ etcdserver: version, etcdcluster: CLUSTER_VERSION }),
          );
        }
        default:
          return reply(404, "text/plain; charset=utf-8", "404 page not found\n");
      }
    };
    route().catch((err: unknown) => {
      if (!res.headersSent)
        reply(500, "text/plain; charset=utf-8", `${(err as Error).message ?? String(err)}\n`);
      else res.destroy();
    });
  };
}
