// `kite server --etcd-servers` against a real etcd 3.4 instead of the embedded store: kubectl
// round-trips objects, and they land in etcd under /registry.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EtcdClient, prefixEnd } from "../../src/apiserver/storage/index.js";
import { need } from "../support/require.js";
import { haveKubectl, type KiteServerProcess, startKiteServer } from "./kubectl-support.js";
import { type Backend, ETCD_BINARY, haveEtcd, startEtcd } from "./storage-backends.js";

test("kubectl and etcd are available", (t) => {
  need(t, haveKubectl && haveEtcd, `needs /usr/bin/kubectl and ${ETCD_BINARY}`);
});

describe("kite server on an external etcd", { skip: !(haveKubectl && haveEtcd) }, () => {
  let etcd: Backend;
  let kite: KiteServerProcess;

  before(async () => {
    etcd = await startEtcd();
    kite = await startKiteServer(["--etcd-servers", `http://${etcd.endpoint}`]);
  });
  after(async () => {
    await kite?.stop();
    await etcd?.stop();
  });

  test("kubectl creates, reads and deletes; objects are stored in etcd", async () => {
    assert.match(kite.output(), new RegExp(`connected to etcd at http://${etcd.endpoint}`));
    assert.doesNotMatch(kite.output(), /embedded store/);
    const manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ext\ndata:\n  k: v\n";
    assert.match(await kite.ok(["apply", "-f", "-"], manifest), /configmap\/ext created/);
    assert.equal(await kite.ok(["get", "cm", "ext", "-o", "jsonpath={.data.k}"]), "v");

    const client = EtcdClient.connect([etcd.endpoint], 5000);
    try {
      const prefix = Buffer.from("/registry/");
      const keys = async () =>
        (await client.range({ key: prefix, range_end: prefixEnd(prefix) })).kvs.map((kv) =>
          kv.key.toString(),
        );
      const stored = await keys();
      assert.ok(
        stored.some((k) => /\/configmaps\/default\/ext$/.test(k)),
        stored.join(" "),
      );
      assert.ok(
        stored.some((k) => /\/namespaces\/kube-system$/.test(k)),
        stored.join(" "),
      );
      assert.match(await kite.ok(["delete", "cm", "ext"]), /configmap "ext" deleted/);
      assert.ok(!(await keys()).some((k) => /\/configmaps\/default\/ext$/.test(k)));
    } finally {
      client.close();
    }
  });
});
