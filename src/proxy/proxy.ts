// startProxy: informers on Services, EndpointSlices (and v1 Endpoints for services that have no
// slices, such as default/kubernetes, which the apiserver writes as Endpoints only), every change
// queueing a coalesced sync that recomputes the desired state and hands it to the backend, plus the
// health and metrics servers on the node's IP.
import { isIPv4 } from "node:net";
import { Registry } from "prom-client";
import type { KubeObject } from "../api/index.js";
import { type Clock, type RestClient, realClock, SharedInformerFactory } from "../client/index.js";
import type { ProxyBackend } from "./backend.js";
import { computeDesiredState, SERVICE_NAME_LABEL } from "./desired.js";
import { ProxyMetrics } from "./metrics.js";
import { SyncRunner } from "./runner.js";
import {
  DEFAULT_HEALTHZ_PORT,
  DEFAULT_METRICS_PORT,
  type HttpEndpoint,
  startHealthServer,
  startMetricsServer,
} from "./server.js";
import { UserspaceBackend } from "./userspace/index.js";

export interface ProxyOptions {
  client: RestClient;
  nodeName: string;
  nodeIP: string;
  /** Health server on nodeIP: default 10256; 0 = any free port; -1 = none. */
  healthzPort?: number;
  /** Metrics server on nodeIP: default 10249; 0 = any free port; -1 = none. */
  metricsPort?: number;
  registry?: Registry;
  log?: (m: string) => void;
  clock?: Clock;
  /** Proxy mode; only "userspace" exists so far (iptables and nftables would plug in as ProxyBackends). */
  mode?: "userspace";
  /** Least time between two syncs; default 0 (events in one burst still fold into one sync). */
  minSyncPeriodMs?: number;
  /** Periodic full resync; default 30 s as upstream's syncPeriod. */
  syncPeriodMs?: number;
  /** UDP session idle timeout; default 250 ms (upstream --udp-timeout). */
  udpIdleTimeoutMs?: number;
  /** Retry period for frontends that could not be bound; default 1 s. */
  bindRetryMs?: number;
  /** /healthz fails when a queued sync has waited this long; default 60 s (2 × syncPeriod). */
  healthTimeoutMs?: number;
}

export interface Proxy {
  /** True once the caches synced and the first sync was applied. */
  synced(): boolean;
  readonly mode: string;
  /** The health server's port, undefined when disabled. */
  readonly healthzPort?: number;
  /** The metrics server's port, undefined when disabled. */
  readonly metricsPort?: number;
  /** Frontends ("TCP/ip:port") this proxy holds a socket for, and those it wants but could not bind. */
  frontends(): { bound: string[]; pending: string[] };
  stop(): Promise<void>;
}

const SERVICES = { group: "", version: "v1", resource: "services" };
const ENDPOINTS = { group: "", version: "v1", resource: "endpoints" };
const SLICES = { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" };
/** Upstream skips objects another proxy implementation claims. */
const NO_PROXY_NAME = "!service.kubernetes.io/service-proxy-name";
const BY_SERVICE = "service";

function checkPort(name: string, port: number | undefined): void {
  if (port === undefined) return;
  if (!Number.isInteger(port) || port < -1 || port > 65_535)
    throw new Error(`startProxy: ${name} must be an integer from -1 to 65535, got ${port}`);
}

async function serve(
  port: number | undefined,
  fallback: number,
  start: (port: number) => Promise<HttpEndpoint>,
  what: string,
  nodeIP: string,
): Promise<HttpEndpoint | undefined> {
  if (port === -1) return undefined;
  const want = port ?? fallback;
  try {
    return await start(want);
  } catch (err) {
    throw new Error(
      `kube-proxy ${what} server cannot listen on ${nodeIP}:${want}: ${(err as Error).message}`,
    );
  }
}

export async function startProxy(opts: ProxyOptions): Promise<Proxy> {
  if (typeof opts.nodeName !== "string" || opts.nodeName === "")
    throw new Error("startProxy: nodeName is required");
  if (!isIPv4(opts.nodeIP))
    throw new Error(`startProxy: nodeIP must be an IPv4 address, got ${JSON.stringify(opts.nodeIP)}`);
  checkPort("healthzPort", opts.healthzPort);
  checkPort("metricsPort", opts.metricsPort);
  if (opts.mode !== undefined && opts.mode !== "userspace")
    throw new Error(
      `startProxy: proxy mode ${JSON.stringify(opts.mode)} is not supported (supported: userspace)`,
    );
  const log = opts.log ?? (() => {});
  const clock = opts.clock ?? realClock;
  const registry = opts.registry ?? new Registry();
  const metrics = new ProxyMetrics(registry);
  const backend: ProxyBackend = new UserspaceBackend({
    metrics,
    clock,
    log,
    udpIdleTimeoutMs: opts.udpIdleTimeoutMs,
    bindRetryMs: opts.bindRetryMs,
  });

  let lastUpdatedMs = 0;
  let oldestQueuedMs = 0;
  let synced = false;
  const endpoints: HttpEndpoint[] = [];
  const closeEndpoints = () => Promise.all(endpoints.map((e) => e.close()));
  let health: HttpEndpoint | undefined;
  let metricsEndpoint: HttpEndpoint | undefined;
  try {
    health = await serve(
      opts.healthzPort,
      DEFAULT_HEALTHZ_PORT,
      (port) =>
        startHealthServer(opts.nodeIP, port, {
          nodeName: opts.nodeName,
          now: () => clock.now(),
          lastUpdatedMs: () => lastUpdatedMs,
          oldestQueuedMs: () => oldestQueuedMs,
          healthTimeoutMs: opts.healthTimeoutMs ?? 60_000,
        }),
      "health",
      opts.nodeIP,
    );
    if (health) endpoints.push(health);
    metricsEndpoint = await serve(
      opts.metricsPort,
      DEFAULT_METRICS_PORT,
      (port) => startMetricsServer(opts.nodeIP, port, registry, backend.mode),
      "metrics",
      opts.nodeIP,
    );
    if (metricsEndpoint) endpoints.push(metricsEndpoint);
  } catch (err) {
    await closeEndpoints();
    throw err;
  }

  const factory = new SharedInformerFactory(opts.client, { clock, log });
  const services = factory.forResource(SERVICES, { labelSelector: NO_PROXY_NAME });
  const slices = factory.forResource(SLICES, { labelSelector: `${SERVICE_NAME_LABEL},${NO_PROXY_NAME}` });
  const legacyEndpoints = factory.forResource(ENDPOINTS);
  slices.addIndexers({
    [BY_SERVICE]: (s) => {
      const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
      return svc === undefined ? [] : [`${s.metadata?.namespace ?? ""}/${svc}`];
    },
  });

  const sync = async () => {
    const started = clock.now();
    const state = computeDesiredState({
      services: services.lister.list(),
      slicesFor: (ns, name) => slices.lister.byIndex(BY_SERVICE, `${ns}/${name}`),
      endpointsFor: (ns, name) => legacyEndpoints.lister.get(ns, name),
      nodeIP: opts.nodeIP,
      log,
    });
    oldestQueuedMs = 0;
    await backend.sync(state);
    lastUpdatedMs = clock.now();
    metrics.syncDuration.observe((lastUpdatedMs - started) / 1000);
    metrics.lastSync.set(lastUpdatedMs / 1000);
    synced = true;
  };
  const runner = new SyncRunner(sync, {
    clock,
    log,
    minIntervalMs: opts.minSyncPeriodMs,
    maxIntervalMs: opts.syncPeriodMs,
    onQueued: () => {
      const now = clock.now();
      if (oldestQueuedMs === 0) oldestQueuedMs = now;
      metrics.lastQueued.set(now / 1000);
    },
  });
  const onChange = (counter: { inc(): void }, cachesSynced: () => boolean) => ({
    onAdd: () => {
      counter.inc();
      if (cachesSynced()) runner.run();
    },
    onUpdate: (a: KubeObject, b: KubeObject) => {
      if (a.metadata?.resourceVersion === b.metadata?.resourceVersion) return;
      counter.inc();
      if (cachesSynced()) runner.run();
    },
    onDelete: () => {
      counter.inc();
      if (cachesSynced()) runner.run();
    },
  });
  const allSynced = () => services.hasSynced() && slices.hasSynced() && legacyEndpoints.hasSynced();
  services.addEventHandler(onChange(metrics.serviceChanges, allSynced));
  slices.addEventHandler(onChange(metrics.endpointChanges, allSynced));
  legacyEndpoints.addEventHandler(onChange({ inc: () => {} }, allSynced));
  factory.start();
  const abort = new AbortController();
  void factory.waitForCacheSync(abort.signal).then((ok) => {
    if (ok) runner.run();
  });
  log(`kube-proxy (${backend.mode}) started for node ${opts.nodeName} on ${opts.nodeIP}`);

  let stopping: Promise<void> | undefined;
  return {
    synced: () => synced,
    mode: backend.mode,
    healthzPort: health?.port,
    metricsPort: metricsEndpoint?.port,
    frontends: () => backend.frontends(),
    stop: () => {
      stopping ??= (async () => {
        abort.abort();
        await runner.stop();
        await factory.shutdown();
        await backend.stop();
        await closeEndpoints();
      })();
      return stopping;
    },
  };
}
