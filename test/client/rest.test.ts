// The REST client against a real apiserver: kubeconfig loading (certificate and token), CRUD,
// patches, subresources, errors as StatusError carrying the server's Status, watch parsing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isStatusError, type KubeObject, StatusError } from "../../src/api/index.js";
import {
  FakeClock,
  JsonObjectSplitter,
  KubeconfigError,
  parseKubeconfig,
  RestClient,
  TokenBucket,
} from "../../src/client/index.js";
import { startCluster, type TestCluster } from "./cluster.js";

const CONFIGMAPS = { group: "", version: "v1", resource: "configmaps" };
const NAMESPACES = { group: "", version: "v1", resource: "namespaces" };
const DEPLOYMENTS = { group: "apps", version: "v1", resource: "deployments" };

describe("JSON object splitter", () => {
  test("finds objects across arbitrary chunk boundaries, with or without newlines", () => {
    const events = [
      { type: "ADDED", object: { metadata: { name: 'a}{"\\' } } },
      { type: "MODIFIED", object: { data: { k: "[x]" } } },
      { type: "DELETED", object: {} },
    ];
    const text = `${JSON.stringify(events[0])}\n${JSON.stringify(events[1])}${JSON.stringify(events[2])}\n`;
    for (const size of [1, 2, 7, 1000]) {
      const splitter = new JsonObjectSplitter();
      const out: unknown[] = [];
      for (let i = 0; i < text.length; i += size)
        out.push(...splitter.push(text.slice(i, i + size)).map((t) => JSON.parse(t)));
      assert.deepEqual(out, events, `chunk size ${size}`);
      assert.equal(splitter.idle(), true);
    }
    assert.throws(() => new JsonObjectSplitter().push("x{}"), /unexpected "x"/);
  });
});

describe("kubeconfig", () => {
  test("reads token users and reports what is missing", () => {
    const text = [
      "apiVersion: v1",
      "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1/', certificate-authority-data: " +
        `${Buffer.from("PEM").toString("base64")}}}]`,
      "users: [{name: u, user: {token: secret}}]",
      "contexts: [{name: x, context: {cluster: c, user: u}}]",
      "current-context: x",
    ].join("\n");
    const cfg = parseKubeconfig(text);
    assert.deepEqual(cfg, { server: "https://127.0.0.1:1", ca: "PEM", token: "secret" });
    assert.throws(() => parseKubeconfig(text, { context: "nope" }), KubeconfigError);
    assert.throws(() => parseKubeconfig("current-context: x\n"), /no context named "x"/);
  });
});

describe("rest client", () => {
  let cluster: TestCluster;
  let client: RestClient;
  before(async () => {
    cluster = await startCluster();
    client = cluster.client({ userAgent: "kite-client-test" });
  });
  after(async () => {
    await cluster?.close();
  });

  test("create, get, list, update, merge/strategic/json/apply patch, delete", async () => {
    await client.resource(NAMESPACES).create({ metadata: { name: "rest" } });
    const cms = client.resource(CONFIGMAPS, "rest");
    const created = await cms.create({ metadata: { name: "one", labels: { app: "x" } }, data: { a: "1" } });
    assert.equal(created.metadata?.namespace, "rest");
    const got = await cms.get("one");
    assert.equal(got.data.a, "1");
    got.data.b = "2";
    const updated = await cms.update(got);
    assert.notEqual(updated.metadata?.resourceVersion, created.metadata?.resourceVersion);
    assert.equal((await cms.patch("one", "merge", { data: { c: "3" } })).data.c, "3");
    assert.equal((await cms.patch("one", "strategic", { data: { d: "4" } })).data.d, "4");
    const jp = await cms.patch("one", "json", [{ op: "remove", path: "/data/a" }]);
    assert.equal(jp.data.a, undefined);
    const applied = await cms.patch(
      "one",
      "apply",
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "one" }, data: { e: "5" } },
      { fieldManager: "tester", force: true },
    );
    assert.equal(applied.data.e, "5");
    await cms.create({ metadata: { name: "two" } });
    const list = await cms.list({ labelSelector: "app=x" });
    assert.deepEqual(
      list.items.map((o: KubeObject) => o.metadata?.name),
      ["one"],
    );
    const paged = await cms.list({ limit: 1 });
    assert.equal(paged.items.length, 1);
    assert.ok(paged.metadata.continue, "a continue token for the second page");
    await cms.delete("one");
    await cms.deleteCollection({});
    assert.equal((await cms.list()).items.length, 0);
  });

  test("errors are StatusError with the server's Status", async () => {
    const cms = client.resource(CONFIGMAPS, "default");
    const err = await cms.get("missing").catch((e: unknown) => e);
    assert.ok(err instanceof StatusError);
    assert.equal(err.code, 404);
    assert.equal(err.reason, "NotFound");
    assert.equal(err.message, 'configmaps "missing" not found');
    assert.equal(err.status.details?.name, "missing");
    await cms.create({ metadata: { name: "dup" } });
    const dup = await cms.create({ metadata: { name: "dup" } }).catch((e: unknown) => e);
    assert.ok(isStatusError(dup) && dup.code === 409 && dup.reason === "AlreadyExists");
    const stale = await cms
      .update({ metadata: { name: "dup", resourceVersion: "1" } })
      .catch((e: unknown) => e);
    assert.ok(isStatusError(stale) && stale.reason === "Conflict", String(stale));
    const bad = await cms.list({ labelSelector: "a in (" }).catch((e: unknown) => e);
    assert.ok(isStatusError(bad) && bad.code === 400);
    const invalid = await cms.create({ metadata: { name: "Not_Valid" } }).catch((e: unknown) => e);
    assert.ok(isStatusError(invalid) && invalid.code === 422 && invalid.message.includes("Not_Valid"));
    await assert.rejects(cms.patch("dup", "apply", {}), /fieldManager/);
  });

  test("token auth works and a bad token is 401 Unauthorized", async () => {
    const { server } = cluster;
    const good = cluster.client({ cert: undefined, key: undefined, token: server.adminToken });
    assert.ok((await good.resource(NAMESPACES).get("default")).metadata?.uid);
    const bad = cluster.client({ cert: undefined, key: undefined, token: "wrong" });
    const err = await bad
      .resource(NAMESPACES)
      .get("default")
      .catch((e: unknown) => e);
    assert.ok(isStatusError(err) && err.code === 401, String(err));
  });

  test("the server's certificate is verified against the configured CA only", async () => {
    const admin = cluster.client();
    // The admin's own certificate is no CA: nothing the server presents chains to it.
    const wrongCa = cluster.client({ ca: admin.config.cert });
    await assert.rejects(wrongCa.resource(NAMESPACES).get("default"), /certificate|self.signed|verify/i);
    const skip = cluster.client({ ca: admin.config.cert, insecureSkipTlsVerify: true });
    assert.ok((await skip.resource(NAMESPACES).get("default")).metadata?.uid);
  });

  test("subresources: scale of a deployment, binding of a pod", async () => {
    const deploys = client.resource(DEPLOYMENTS, "default");
    await deploys.create({
      metadata: { name: "web" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "c", image: "nginx" }] },
        },
      },
    });
    const scale = deploys.subresource("web", "scale");
    const s = await scale.get<KubeObject>();
    assert.equal(s.kind, "Scale");
    await scale.update({ ...s, spec: { replicas: 4 } });
    assert.equal((await deploys.get("web")).spec.replicas, 4);
    const pods = client.resource({ group: "", version: "v1", resource: "pods" }, "default");
    await pods.create({ metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "nginx" }] } });
    await pods.subresource("p", "binding").create({
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: "p" },
      target: { apiVersion: "v1", kind: "Node", name: "node-1" },
    });
    assert.equal((await pods.get("p")).spec.nodeName, "node-1");
  });

  test("watch streams events in order", async () => {
    const cms = client.resource(CONFIGMAPS, "default");
    const start = (await cms.list()).metadata.resourceVersion;
    const watch = await cms.watch({ resourceVersion: start });
    await cms.create({ metadata: { name: "w1" } });
    await cms.delete("w1");
    const seen: string[] = [];
    for await (const ev of watch) {
      seen.push(`${ev.type} ${(ev.object as KubeObject).metadata?.name}`);
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, ["ADDED w1", "DELETED w1"]);
  });

  test("client-side rate limit: burst, then qps", async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(50, 100, clock);
    let immediate = 0;
    while (bucket.reserve() === 0) immediate++;
    assert.equal(immediate, 100);
    const limited = cluster.client({ qps: 20, burst: 2 });
    const ns = limited.resource(NAMESPACES);
    const started = Date.now();
    for (let i = 0; i < 6; i++) await ns.get("default");
    // 2 from the burst, 4 at 20/s: at least ~200 ms.
    assert.ok(Date.now() - started >= 180, `took ${Date.now() - started} ms`);
  });

  test("a request deadline fails the request with a clear error", async () => {
    const slow = new RestClient({ server: "https://127.0.0.1:9", timeoutMs: 200 });
    await assert.rejects(slow.resource(NAMESPACES).get("default"), /GET \/api\/v1\/namespaces\/default/);
    slow.close();
  });
});
