// A real in-process control plane for the client tests: kite's store, its etcd API and the
// apiserver on loopback port 0, in a kite- temp dir removed on close. historySize is kept small so
// a test can make a watch's resourceVersion fall out of the watch cache and get 410 Expired.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ApiServer, startApiServer } from "../../src/apiserver/server/server.js";
import { EtcdObjectStore } from "../../src/apiserver/storage/index.js";
import { RestClient, type RestConfig } from "../../src/client/index.js";
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../src/etcdapi/index.js";
import { StoreServer } from "../../src/store/index.js";

export interface TestCluster {
  server: ApiServer;
  /** A new client from the admin kubeconfig (client certificate). */
  client(overrides?: Partial<RestConfig>): RestClient;
  close(): Promise<void>;
}

export async function startCluster(
  opts: { historySize?: number; serviceClusterIpRange?: string } = {},
): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), "kite-client-"));
  let store: StoreServer | undefined;
  let etcd: EtcdGrpcServer | undefined;
  let objects: EtcdObjectStore | undefined;
  let server: ApiServer | undefined;
  const clients: RestClient[] = [];
  const close = async () => {
    for (const c of clients) c.close();
    await server?.close();
    await objects?.close();
    await etcd?.close();
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    store = await StoreServer.open({ dataDir: join(root, "store"), name: "n1" });
    etcd = await startEtcdGrpcServer(store, { listenUrls: ["http://127.0.0.1:0"], registry: store.registry });
    objects = await EtcdObjectStore.connect({
      endpoints: etcd.urls,
      historySize: opts.historySize ?? 10_000,
    });
    server = await startApiServer({
      dataDir: join(root, "data"),
      port: 0,
      store: objects,
      serviceClusterIpRange: opts.serviceClusterIpRange,
    });
  } catch (err) {
    await close();
    throw err;
  }
  const api = server;
  return {
    server: api,
    client(overrides = {}) {
      const c = RestClient.fromKubeconfig(api.kubeconfigPath, overrides);
      clients.push(c);
      return c;
    },
    close,
  };
}
