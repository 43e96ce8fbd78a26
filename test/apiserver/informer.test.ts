// A client library informer (@kubernetes/client-node makeInformer: list, then watch) against
// the apiserver on a real kite store stays in sync through creates, updates and deletes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { V1ConfigMap } from "@kubernetes/client-node";
import { type ApiServer, startApiServer } from "../../src/apiserver/server/server.js";
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../src/etcdapi/index.js";
import { StoreServer } from "../../src/store/index.js";
import { need, waitFor } from "../support/require.js";

/**
 * client-node 2.x needs undici 8, which needs Node >= 22.19; a failed load leaves stray
 * rejections behind, so probe it in a child process first.
 */
function clientNodeLoadError(): string | undefined {
  const probe = spawnSync(
    process.execPath,
    ["--input-type=module", "-e", 'await import("@kubernetes/client-node")'],
    {
      cwd: fileURLToPath(new URL(".", import.meta.url)),
      encoding: "utf8",
      timeout: 30_000,
    },
  );
  if (probe.status === 0) return undefined;
  const why = /^\w*Error: .*$/m.exec(probe.stderr)?.[0] ?? `exit ${probe.status}`;
  return `@kubernetes/client-node cannot load on Node ${process.version} (${why})`;
}

describe("client-node informer", () => {
  let root: string;
  let store: StoreServer;
  let etcd: EtcdGrpcServer;
  let server: ApiServer;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "kite-informer-"));
    store = await StoreServer.open({ dataDir: join(root, "store"), name: "n1" });
    etcd = await startEtcdGrpcServer(store, { listenUrls: ["http://127.0.0.1:0"], registry: store.registry });
    server = await startApiServer({ dataDir: join(root, "data"), port: 0, etcdServers: etcd.urls });
  });
  after(async () => {
    await server?.close();
    await etcd?.close();
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test("stays in sync through creates, updates and deletes", async (t) => {
    const loadError = clientNodeLoadError();
    if (!need(t, loadError === undefined, loadError ?? "")) return;
    const { CoreV1Api, KubeConfig, makeInformer } = await import("@kubernetes/client-node");
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = "default";
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "before-start" }, data: { n: "0" } },
    });

    const informer = makeInformer<V1ConfigMap>(kc, `/api/v1/namespaces/${namespace}/configmaps`, () =>
      core.listNamespacedConfigMap({ namespace }),
    );
    const events: string[] = [];
    informer.on("add", (cm) => events.push(`add ${cm.metadata?.name}`));
    informer.on("update", (cm) => events.push(`update ${cm.metadata?.name} ${cm.data?.n}`));
    informer.on("delete", (cm) => events.push(`delete ${cm.metadata?.name}`));
    let failure: unknown;
    informer.on("error", (err) => {
      failure = err;
    });
    await informer.start();
    try {
      const names = () =>
        informer
          .list(namespace)
          .map((cm) => cm.metadata?.name)
          .sort();
      await waitFor(() => names().includes("before-start"), 10_000, "the initial list");

      for (let i = 1; i <= 5; i++) {
        await core.createNamespacedConfigMap({
          namespace,
          body: { metadata: { name: `cm-${i}` }, data: { n: "0" } },
        });
      }
      await waitFor(() => names().length === 6, 10_000, "five creates");
      // client-node sends patches as application/json-patch+json by default.
      await core.patchNamespacedConfigMap({
        namespace,
        name: "cm-2",
        body: [{ op: "replace", path: "/data/n", value: "1" }],
      });
      const cm3 = await core.readNamespacedConfigMap({ namespace, name: "cm-3" });
      await core.replaceNamespacedConfigMap({ namespace, name: "cm-3", body: { ...cm3, data: { n: "2" } } });
      await core.deleteNamespacedConfigMap({ namespace, name: "cm-4" });
      await core.deleteNamespacedConfigMap({ namespace, name: "before-start" });

      await waitFor(
        () =>
          JSON.stringify(names()) === JSON.stringify(["cm-1", "cm-2", "cm-3", "cm-5"]) &&
          informer.get("cm-2", namespace)?.data?.n === "1" &&
          informer.get("cm-3", namespace)?.data?.n === "2",
        10_000,
        "updates and deletes",
      );
      assert.equal(failure, undefined);
      assert.ok(events.includes("update cm-3 2"), events.join(", "));
      assert.ok(events.includes("delete cm-4"));
      assert.ok(events.includes("delete before-start"));
      const live = await core.listNamespacedConfigMap({ namespace });
      assert.deepEqual(
        live.items.map((cm) => cm.metadata?.name).sort(),
        names().filter((n) => n !== undefined),
      );
    } finally {
      await informer.stop();
    }
  });
});
