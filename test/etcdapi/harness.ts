// Starts a real single-member StoreServer in a temp dir with the etcd gRPC API on a free
// loopback port, and a raw grpc-js client for the etcd services (for requests etcd3 won't send).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type EtcdGrpcServer, packageDefinition, startEtcdGrpcServer } from "../../src/etcdapi/index.js";
import { StoreServer } from "../../src/store/index.js";

export interface Harness {
  store: StoreServer;
  api: EtcdGrpcServer;
  endpoint: string;
  client(
    service: "KV" | "Watch" | "Lease" | "Cluster" | "Maintenance" | "Auth",
  ): grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  stop(): Promise<void>;
}

export async function startHarness(opts: { maxRequestBytes?: number } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "kite-etcdapi-"));
  let store: StoreServer | undefined;
  try {
    // etcd applies one --max-request-bytes to both the gRPC receive limit and the proposal size.
    store = await StoreServer.open({
      dataDir: join(dir, "data"),
      name: "n1",
      maxRequestBytes: opts.maxRequestBytes,
    });
    const api = await startEtcdGrpcServer(store, {
      listenUrls: ["http://127.0.0.1:0"],
      registry: store.registry,
      maxRequestBytes: opts.maxRequestBytes,
    });
    const endpoint = `127.0.0.1:${api.ports[0]}`;
    const pkg = grpc.loadPackageDefinition(packageDefinition) as unknown as {
      etcdserverpb: Record<string, grpc.ServiceClientConstructor>;
    };
    const clients: grpc.Client[] = [];
    const s = store;
    return {
      store: s,
      api,
      endpoint,
      client(service) {
        const Ctor = pkg.etcdserverpb[service] as grpc.ServiceClientConstructor;
        const c = new Ctor(endpoint, grpc.credentials.createInsecure(), {
          "grpc.max_send_message_length": -1,
        });
        clients.push(c);
        return c as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
      },
      async stop() {
        for (const c of clients) c.close();
        await api.close();
        await s.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Calls a unary method of a raw client; resolves to the response or the gRPC error. */
export function call(
  client: Record<string, (...args: unknown[]) => unknown>,
  method: string,
  req: object,
  metadata = new grpc.Metadata(),
): Promise<{ resp?: Record<string, unknown>; err?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    (client[method] as (...a: unknown[]) => void).call(
      client,
      req,
      metadata,
      { deadline: Date.now() + 10_000 },
      (err: grpc.ServiceError | null, resp: Record<string, unknown>) => resolve(err ? { err } : { resp }),
    );
  });
}
