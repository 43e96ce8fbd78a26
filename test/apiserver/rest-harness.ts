// A real REST stack for the rest*.test.ts files: kite's store with its etcd API in-process,
// EtcdObjectStore over it, the builtin registry, and createRestHandler behind a loopback HTTP server.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { builtinRegistry } from "../../src/apiserver/resources/index.js";
import { createRestHandler, type RequestRecord, type RestOptions } from "../../src/apiserver/rest/index.js";
import { EtcdObjectStore, type EtcdObjectStoreOptions } from "../../src/apiserver/storage/index.js";
import { type Harness, startHarness } from "../etcdapi/harness.js";
import { waitFor } from "../support/require.js";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: replies are arbitrary JSON the tests pick apart
  body: any;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is when a string or Buffer; otherwise JSON. */
  contentType?: string;
  accept?: string;
  headers?: Record<string, string>;
}

export interface WatchHandle {
  // biome-ignore lint/suspicious/noExplicitAny: events are arbitrary JSON
  events: any[];
  status: number;
  headers: Record<string, string | string[] | undefined>;
  ended: boolean;
  close(): void;
  waitForEvents(n: number, what?: string): Promise<void>;
}

export interface RestHarness {
  url: string;
  store: EtcdObjectStore;
  records: RequestRecord[];
  request(method: string, path: string, opts?: RequestOptions): Promise<Reply>;
  watch(path: string, accept?: string): Promise<WatchHandle>;
  stop(): Promise<void>;
}

export async function startRest(
  extra: Partial<RestOptions> = {},
  storeOptions: Partial<EtcdObjectStoreOptions> = {},
): Promise<RestHarness> {
  const etcd: Harness = await startHarness();
  const store = EtcdObjectStore.connect({
    endpoints: [etcd.endpoint],
    bookmarkIntervalMs: 200,
    ...storeOptions,
  });
  const records: RequestRecord[] = [];
  const handler = createRestHandler({
    store,
    registry: builtinRegistry(),
    authorizer: { authorize: async () => ({ allowed: true }) },
    onRequest: (r) => records.push(r),
    ...extra,
  });
  const server: Server = createServer((req, res) => {
    handler(req, res, { username: "admin", groups: ["system:masters"] }).then((handled) => {
      if (!handled) {
        res.writeHead(418, { "Content-Type": "text/plain" });
        res.end("not a resource path");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const open = new Set<() => void>();

  const request = (method: string, path: string, opts: RequestOptions = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      let payload: Buffer | undefined;
      if (opts.body !== undefined)
        payload =
          typeof opts.body === "string"
            ? Buffer.from(opts.body)
            : Buffer.isBuffer(opts.body)
              ? opts.body
              : Buffer.from(JSON.stringify(opts.body));
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (payload) {
        headers["Content-Type"] = opts.contentType ?? "application/json";
        headers["Content-Length"] = String(payload.length);
      }
      if (opts.accept) headers.Accept = opts.accept;
      const req = httpRequest(`${url}${path}`, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      if (payload) req.end(payload);
      else req.end();
    });

  const watch = (path: string, accept?: string): Promise<WatchHandle> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        `${url}${path}`,
        { method: "GET", headers: accept ? { Accept: accept } : {} },
        (res) => {
          let buffered = "";
          const handle: WatchHandle = {
            events: [],
            status: res.statusCode ?? 0,
            headers: res.headers,
            ended: false,
            close: () => req.destroy(),
            waitForEvents: (n, what = `${n} watch events`) =>
              waitFor(() => handle.events.length >= n, 10_000, what),
          };
          const close = () => req.destroy();
          open.add(close);
          res.on("data", (c: Buffer) => {
            buffered += c.toString("utf8");
            for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
              const line = buffered.slice(0, nl);
              buffered = buffered.slice(nl + 1);
              if (line.trim() !== "") handle.events.push(JSON.parse(line));
            }
          });
          res.on("end", () => {
            handle.ended = true;
            if (buffered.trim() !== "") handle.events.push(JSON.parse(buffered));
            open.delete(close);
          });
          res.on("error", () => {
            handle.ended = true;
          });
          resolve(handle);
        },
      );
      req.on("error", reject);
      req.end();
    });

  // The namespaces kite creates at start.
  for (const name of ["default", "kube-system", "kube-public"]) {
    const r = await request("POST", "/api/v1/namespaces", { body: { metadata: { name } } });
    if (r.status !== 201) throw new Error(`creating namespace ${name}: ${r.status} ${r.text}`);
  }

  return {
    url,
    store,
    records,
    request,
    watch,
    async stop() {
      for (const close of open) close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await store.close();
      await etcd.stop();
    },
  };
}

/** A minimal valid pod. */
export function pod(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: "web" } },
    spec: { containers: [{ name: "c", image: "nginx:1.27" }] },
    ...extra,
  };
}

/** A minimal valid deployment. */
export function deployment(name: string, replicas = 1): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
      },
    },
  };
}
