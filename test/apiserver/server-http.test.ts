// The apiserver over HTTPS against a real kite store (in-process StoreServer + etcd gRPC API):
// authentication, /version, health, metrics, discovery negotiation, 404s, bootstrap objects and
// a restart on the same data directory.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ensureClusterTls } from "../../src/apiserver/server/certs.js";
import { type ApiServer, startApiServer } from "../../src/apiserver/server/server.js";
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../src/etcdapi/index.js";
import { StoreServer } from "../../src/store/index.js";
import { type ClientAuth, call } from "./server-support.js";

describe("apiserver over HTTPS", () => {
  let root: string;
  let store: StoreServer;
  let etcd: EtcdGrpcServer;
  let server: ApiServer;
  let admin: { cert: string; key: string };
  const dataDir = () => join(root, "data");
  const start = () => startApiServer({ dataDir: dataDir(), port: 0, etcdServers: etcd.urls });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "kite-apiserver-"));
    store = await StoreServer.open({ dataDir: join(root, "store"), name: "n1" });
    etcd = await startEtcdGrpcServer(store, { listenUrls: ["http://127.0.0.1:0"], registry: store.registry });
    server = await start();
    const tls = await ensureClusterTls(dataDir());
    admin = tls.admin;
  });
  after(async () => {
    await server?.close();
    await etcd?.close();
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const anon = (): ClientAuth => ({ ca: server.caCert });
  const withToken = (): ClientAuth => ({ ca: server.caCert, token: server.adminToken });
  const withCert = (): ClientAuth => ({ ca: server.caCert, cert: admin.cert, key: admin.key });

  test("unauthenticated and badly authenticated requests get a 401 Status", async () => {
    for (const auth of [anon(), { ca: server.caCert, token: "wrong" }]) {
      const r = await call(`${server.url}/api/v1/namespaces`, auth);
      assert.equal(r.status, 401);
      assert.equal(r.headers["content-type"], "application/json");
      assert.deepEqual(JSON.parse(r.body), {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "Unauthorized",
        reason: "Unauthorized",
        code: 401,
      });
    }
    assert.equal((await call(`${server.url}/version`, { ca: server.caCert, token: "wrong" })).status, 401);
    assert.equal((await call(`${server.url}/metrics`, anon())).status, 401);
  });

  test("a client certificate from another CA is refused", async () => {
    const other = await ensureClusterTls(join(root, "other"));
    const r = await call(`${server.url}/api/v1/namespaces`, { ca: server.caCert, ...other.admin });
    assert.equal(r.status, 401);
  });

  test("bearer token and client certificate both authenticate", async () => {
    for (const auth of [withToken(), withCert()]) {
      const r = await call(`${server.url}/api/v1/namespaces`, auth);
      assert.equal(r.status, 200, r.body);
      const names = JSON.parse(r.body).items.map((n: { metadata: { name: string } }) => n.metadata.name);
      assert.deepEqual(names.sort(), ["default", "kube-node-lease", "kube-public", "kube-system"]);
    }
  });

  test("/version is public and pinned to 1.32", async () => {
    const r = await call(`${server.url}/version?timeout=5s`, anon());
    assert.equal(r.status, 200);
    const v = JSON.parse(r.body);
    assert.deepEqual(Object.keys(v), [
      "major",
      "minor",
      "gitVersion",
      "gitCommit",
      "gitTreeState",
      "buildDate",
      "goVersion",
      "compiler",
      "platform",
    ]);
    assert.equal(v.major, "1");
    assert.equal(v.minor, "32");
    assert.match(v.gitVersion, /^v1\.32\.0-kite\.\d+\.\d+\.\d+/);
    assert.equal(v.compiler, "kite");
    assert.match(v.buildDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test("health endpoints answer anonymously in upstream's formats", async () => {
    for (const path of ["/healthz", "/livez", "/readyz"]) {
      const r = await call(`${server.url}${path}`, anon());
      assert.equal(r.status, 200);
      assert.equal(r.body, "ok");
      assert.match(String(r.headers["content-type"]), /^text\/plain/);
    }
    const verbose = await call(`${server.url}/readyz?verbose`, anon());
    assert.match(verbose.body, /^\[\+\]ping ok\n/);
    assert.match(verbose.body, /\n\[\+\]etcd ok\n/);
    assert.match(verbose.body, /\n\[\+\]shutdown ok\nreadyz check passed\n$/);
    const one = await call(`${server.url}/healthz/etcd`, withToken());
    assert.equal(one.body, "ok");
  });

  test("discovery by Accept header, and 404 Status for unknown paths", async () => {
    const v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    const r = await call(`${server.url}/apis`, withToken(), {
      headers: { Accept: `${v2},application/json` },
    });
    assert.equal(r.headers["content-type"], v2);
    const groups = JSON.parse(r.body).items.map((i: { metadata: { name: string } }) => i.metadata.name);
    assert.ok(groups.includes("apps"));
    const legacy = await call(`${server.url}/api`, withToken(), { headers: { Accept: "application/json" } });
    assert.equal(JSON.parse(legacy.body).kind, "APIVersions");
    const missing = await call(`${server.url}/nothing/here`, withToken());
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).reason, "NotFound");
    const index = JSON.parse((await call(`${server.url}/openapi/v3`, withToken())).body);
    assert.ok(index.paths["apis/apps/v1"]);
  });

  test("/metrics counts REST requests", async () => {
    await call(`${server.url}/api/v1/namespaces/default/configmaps`, withToken());
    const r = await call(`${server.url}/metrics`, withToken());
    assert.equal(r.status, 200);
    assert.match(
      r.body,
      /apiserver_request_total\{verb="LIST",group="",version="v1",resource="configmaps",[^}]*code="200"\} \d+/,
    );
    assert.match(r.body, /apiserver_request_duration_seconds_bucket\{le="0.005",verb="LIST"/);
  });

  test("the kubernetes service and endpoints point at this server; a restart keeps credentials", async () => {
    const svc = JSON.parse(
      (await call(`${server.url}/api/v1/namespaces/default/services/kubernetes`, withToken())).body,
    );
    assert.equal(svc.spec.clusterIP, "10.96.0.1");
    assert.equal(svc.spec.ports[0].port, 443);
    assert.equal(svc.spec.ports[0].targetPort, server.port);
    const before = { ca: server.caCert, token: server.adminToken };
    await server.close();
    server = await start();
    assert.deepEqual({ ca: server.caCert, token: server.adminToken }, before);
    const ep = JSON.parse(
      (await call(`${server.url}/api/v1/namespaces/default/endpoints/kubernetes`, withToken())).body,
    );
    assert.deepEqual(ep.subsets, [
      { addresses: [{ ip: "127.0.0.1" }], ports: [{ name: "https", port: server.port, protocol: "TCP" }] },
    ]);
  });

  test("malformed paths, headers and credentials never get a 5xx or stop the server", async () => {
    let seed = 20261126;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const segments = [
      "api",
      "apis",
      "v1",
      "apps",
      "openapi",
      "v3",
      "healthz",
      "readyz",
      "livez",
      "version",
      "metrics",
      "%00",
      "%ff",
      "..",
      ".",
      "",
      "namespaces",
      "default",
      "x".repeat(300),
      "%2F",
      "\u00e9",
      "{name}",
      "pods",
      "log",
    ];
    const accepts = [
      "",
      "*/*",
      "application/json;g=apidiscovery.k8s.io;v=v9;as=APIGroupDiscoveryList",
      ";;;",
      "a/b;q=x",
      "application/json;q=0",
      "application/json;as=Table;v=v1;g=meta.k8s.io",
      "text/html,application/xhtml+xml",
    ];
    const auths = [
      () => ({ ca: server.caCert }),
      () => ({ ca: server.caCert, token: server.adminToken }),
      () => ({ ca: server.caCert, token: "x".repeat(5000) }),
      () => ({ ca: server.caCert, cert: admin.cert, key: admin.key }),
    ];
    for (let i = 0; i < 120; i++) {
      const path = Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick(segments)).join("/");
      const query = pick([
        "",
        "?verbose",
        "?exclude=etcd&exclude=",
        "?limit=-1",
        "?hash=zz",
        "?%zz=1",
        "?timeout=abc",
      ]);
      const method = pick(["GET", "HEAD", "OPTIONS", "TRACE"]);
      const headers: Record<string, string> = { Accept: pick(accepts) };
      if (random() < 0.1) headers.Authorization = pick(["Bearer", "Basic abc", "Bearer  ", "bearer x y"]);
      const r = await call(`${server.url}/${path}${query}`, pick(auths)(), { method, headers });
      assert.ok(r.status >= 200 && r.status < 500, `${method} /${path}${query} gave ${r.status}: ${r.body}`);
    }
    assert.equal((await call(`${server.url}/readyz`, anon())).body, "ok");
  });
});
