// CoreDNS's request metrics under its names and labels (plugin/metrics/vars), so dashboards and
// alerts written for CoreDNS read kite's DNS unchanged, and the small HTTP server CoreDNS's
// prometheus, health and ready plugins would serve: /metrics, /health and /ready.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Histogram, type Registry } from "prom-client";

/** CoreDNS's plugin.TimeBuckets: prometheus.ExponentialBuckets(0.00025, 2, 16). */
export const DNS_DURATION_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);

export class DnsMetrics {
  private readonly requests: Counter<"server" | "zone" | "proto" | "family" | "type">;
  private readonly responses: Counter<"server" | "zone" | "rcode">;
  private readonly duration: Histogram<"server" | "zone" | "type">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: "coredns_dns_requests_total",
      help: "Counter of DNS requests made per zone, protocol and family.",
      labelNames: ["server", "zone", "proto", "family", "type"],
      registers,
    });
    this.responses = new Counter({
      name: "coredns_dns_responses_total",
      help: "Counter of response status codes.",
      labelNames: ["server", "zone", "rcode"],
      registers,
    });
    this.duration = new Histogram({
      name: "coredns_dns_request_duration_seconds",
      help: "Histogram of the time (in seconds) each request took per zone.",
      labelNames: ["server", "zone", "type"],
      buckets: DNS_DURATION_BUCKETS,
      registers,
    });
  }

  observe(m: {
    server: string;
    zone: string;
    proto: "udp" | "tcp";
    family: "1" | "2";
    type: string;
    rcode: string;
    seconds: number;
  }): void {
    this.requests.inc({ server: m.server, zone: m.zone, proto: m.proto, family: m.family, type: m.type });
    this.responses.inc({ server: m.server, zone: m.zone, rcode: m.rcode });
    this.duration.observe({ server: m.server, zone: m.zone, type: m.type }, m.seconds);
  }
}

/** Serves /metrics, /health and /ready (200 once synced) on address:port; resolves to the bound port. */
export function serveMetrics(
  registry: Registry,
  address: string,
  port: number,
  ready: () => boolean,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    if (path === "/metrics") {
      registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(String(err.message)),
      );
    } else if (path === "/health") {
      res.writeHead(200, { "content-type": "text/plain" }).end("OK");
    } else if (path === "/ready") {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "OK" : "not synced");
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("404 page not found\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
      server.off("error", reject);
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}
