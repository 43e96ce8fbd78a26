// The apiserver process: an HTTPS server with the cluster's certificates that authenticates
// each request, serves /version, health, /metrics, discovery and OpenAPI itself and hands
// resource paths to the REST handler; everything else is a 404 Status. At start it makes the
// TLS material, the admin token and kubeconfig, connects the object store and creates the
// bootstrap objects.

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { makeStatus, toStatusError } from "../../api/index.js";
import { builtinRegistry } from "../resources/index.js";
import { createRestHandler } from "../rest/index.js";
import { EtcdObjectStore } from "../storage/index.js";
import type { Authorizer, ObjectStore, ResourceDef, UserInfo } from "../types.js";
import {
  AlwaysAllowAuthorizer,
  ANONYMOUS,
  ensureTokenFile,
  isPublicPath,
  RequestAuthenticator,
} from "./auth.js";
import { bootstrapCluster, firstServiceIp } from "./bootstrap.js";
import { defaultServingNames, ensureClusterTls } from "./certs.js";
import { Discovery } from "./discovery.js";
import { type HealthCheck, serveHealth } from "./health.js";
import { clientUrl, renderKubeconfig, writeKubeconfig } from "./kubeconfig.js";
import { ApiServerMetrics } from "./metrics.js";
import { OpenApi } from "./openapi.js";
import { createPodLogs } from "./podlogs.js";
import { sendJson, sendStatus } from "./respond.js";
import { versionInfo } from "./version.js";

/** What the server needs from the ResourceRegistry (src/apiserver/resources). */
export interface ApiRegistry {
  all(): ResourceDef[];
  groupVersions(): Array<{ group: string; version: string }>;
  lookup(group: string, version: string, resource: string): ResourceDef | undefined;
}

export interface ApiServerOptions {
  /** Holds tls/ (CA, certificates, tokens.csv) and the admin kubeconfig. */
  dataDir: string;
  /** Default 6443; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  bindAddress?: string;
  /** etcd client URLs; used when no `store` is given. */
  etcdServers?: string[];
  /** An object store to use instead of connecting to etcdServers (not closed by close()). */
  store?: ObjectStore;
  registry?: ApiRegistry;
  authorizer?: Authorizer;
  /** Default 10.96.0.0/12. */
  serviceClusterIpRange?: string;
  serviceNodePortRange?: string;
  /** Progress lines. */
  log?: (message: string) => void;
}

export interface ApiServer {
  url: string;
  port: number;
  /** PEM of the cluster CA. */
  caCert: string;
  adminToken: string;
  kubeconfigPath: string;
  metrics: ApiServerMetrics;
  close(): Promise<void>;
}

const ETCD_CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function notFoundStatus() {
  return makeStatus(404, "NotFound", "the server could not find the requested resource", {});
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const log = opts.log ?? (() => {});
  const bindAddress = opts.bindAddress ?? "127.0.0.1";
  const serviceRange = opts.serviceClusterIpRange ?? "10.96.0.0/12";
  const serviceIp = firstServiceIp(serviceRange);
  const extraIps = bindAddress === "0.0.0.0" || bindAddress === "::" ? [] : [bindAddress];
  const tls = await ensureClusterTls(opts.dataDir, defaultServingNames([serviceIp, ...extraIps]));
  const { tokens, adminToken } = await ensureTokenFile(tls.dir);
  log(`certificates and tokens ready in ${tls.dir}`);

  const registry = opts.registry ?? builtinRegistry();
  let ownedStore: ObjectStore | undefined;
  let store: ObjectStore;
  if (opts.store) {
    store = opts.store;
  } else {
    if (!opts.etcdServers || opts.etcdServers.length === 0)
      throw new Error("startApiServer needs a store or etcdServers");
    ownedStore = await EtcdObjectStore.connect({ endpoints: opts.etcdServers });
    store = ownedStore;
    log(`connected to etcd at ${opts.etcdServers.join(",")}`);
  }

  const metrics = new ApiServerMetrics();
  const authenticator = new RequestAuthenticator(tokens);
  const rest = createRestHandler({
    store,
    registry,
    authorizer: opts.authorizer ?? new AlwaysAllowAuthorizer(),
    serviceClusterIPRange: serviceRange,
    serviceNodePortRange: opts.serviceNodePortRange,
    onRequest: (record) => metrics.record(record),
    podLogs: createPodLogs({ store, registry }),
  });
  const discovery = new Discovery(registry);
  const openapi = new OpenApi(registry);
  const startedAt = new Date();
  const versionBody = JSON.stringify(versionInfo(startedAt), null, 2);
  let shuttingDown = false;
  const etcdCheck = async () => {
    await withTimeout(store.currentResourceVersion(), ETCD_CHECK_TIMEOUT_MS, "etcd");
  };
  const base: HealthCheck[] = [
    { name: "ping", check: () => {} },
    { name: "log", check: () => {} },
    { name: "etcd", check: etcdCheck },
  ];
  const health = {
    healthz: base,
    livez: base,
    readyz: [
      ...base,
      { name: "etcd-readiness", check: etcdCheck },
      {
        name: "shutdown",
        check: () => {
          if (shuttingDown) throw new Error("process is shutting down");
        },
      },
    ],
  };

  let serverAddress = "";
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(`https://apiserver${req.url?.startsWith("/") ? req.url : "/"}`);
    const path = url.pathname;
    const auth = authenticator.authenticate(req);
    const user: UserInfo | undefined = auth.user;
    if (!user || (user === ANONYMOUS && !isPublicPath(path))) {
      sendStatus(res, makeStatus(401, "Unauthorized", "Unauthorized"));
      return;
    }
    const readOnly = req.method === "GET" || req.method === "HEAD";
    if (readOnly) {
      if (path === "/version" || path === "/version/") {
        sendJson(res, 200, versionBody);
        return;
      }
      for (const endpoint of ["healthz", "livez", "readyz"] as const) {
        if (await serveHealth(endpoint, health[endpoint], path, url.searchParams, res)) return;
      }
      if (path === "/metrics") {
        const { contentType, body } = await metrics.text();
        sendJson(res, 200, body, contentType);
        return;
      }
      if (discovery.serve(path, req.headers.accept, serverAddress, res)) return;
      if (openapi.serve(path, res)) return;
    }
    if (await rest(req, res, user)) return;
    sendStatus(res, notFoundStatus());
  }

  const server: Server = createServer(
    {
      key: tls.serving.key,
      cert: tls.serving.cert,
      ca: tls.ca.cert,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    },
    (req, res) => {
      route(req, res).catch((err: unknown) => {
        log(`error serving ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`);
        sendStatus(res, toStatusError(err).status);
      });
    },
  );
  // Watches stay open for minutes; node's default request timeout would cut them.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 6443, bindAddress, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await ownedStore?.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const url = clientUrl(bindAddress, port);
  serverAddress = new URL(url).host;

  const close = async () => {
    shuttingDown = true;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await ownedStore?.close();
  };
  try {
    const endpointIp = bindAddress === "0.0.0.0" || bindAddress === "::" ? "127.0.0.1" : bindAddress;
    const done = await bootstrapCluster({
      store,
      registry,
      serviceClusterIpRange: serviceRange,
      endpointIp,
      port,
    });
    log(`bootstrap objects: ${done.join(", ")}`);
    const kubeconfigPath = await writeKubeconfig(opts.dataDir, renderKubeconfig(url, tls.ca.cert, tls.admin));
    return { url, port, caCert: tls.ca.cert, adminToken, kubeconfigPath, metrics, close };
  } catch (err) {
    await close();
    throw err;
  }
}
