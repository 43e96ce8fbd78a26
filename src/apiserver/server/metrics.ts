// The apiserver's Prometheus metrics under upstream's names: apiserver_request_total (by verb,
// group, version, resource, subresource, scope, component, code) and
// apiserver_request_duration_seconds with upstream's buckets, fed by the REST handler's
// onRequest; plus Node's process metrics.
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** One finished request, as the REST handler reports it (its RequestRecord). */
export interface ApiRequestRecord {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
  code: number;
  durationSeconds: number;
}

/** Upstream's request latency buckets (k8s.io/apiserver pkg/endpoints/metrics). */
export const REQUEST_DURATION_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];

const LABELS = ["verb", "group", "version", "resource", "subresource", "scope", "component"] as const;

export class ApiServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<(typeof LABELS)[number] | "code">;
  private readonly durations: Histogram<(typeof LABELS)[number]>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: "apiserver_request_total",
      help: "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
      labelNames: [...LABELS, "code"],
      registers: [this.registry],
    });
    this.durations = new Histogram({
      name: "apiserver_request_duration_seconds",
      help: "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
      labelNames: [...LABELS],
      buckets: REQUEST_DURATION_BUCKETS,
      registers: [this.registry],
    });
  }

  record(r: ApiRequestRecord): void {
    const labels = {
      verb: r.verb,
      group: r.group,
      version: r.version,
      resource: r.resource,
      subresource: r.subresource,
      scope: r.scope,
      component: "apiserver",
    };
    this.requests.inc({ ...labels, code: String(r.code) });
    this.durations.observe(labels, r.durationSeconds);
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
