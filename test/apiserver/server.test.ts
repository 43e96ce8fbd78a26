// Unit tests of the apiserver's serving pieces: certificates, tokens, health formats, discovery
// negotiation and documents, OpenAPI, metrics.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseTokenFile, TokenFileError } from "../../src/apiserver/server/auth.js";
import { firstServiceIp } from "../../src/apiserver/server/bootstrap.js";
import { defaultServingNames, ensureClusterTls } from "../../src/apiserver/server/certs.js";
import { Discovery } from "../../src/apiserver/server/discovery.js";
import { serveHealth } from "../../src/apiserver/server/health.js";
import { ApiServerMetrics } from "../../src/apiserver/server/metrics.js";
import { negotiateDiscovery } from "../../src/apiserver/server/negotiate.js";
import { OpenApi } from "../../src/apiserver/server/openapi.js";
import { parseServerFlags, ServerFlagError } from "../../src/cli/commands/server.js";
import { SAMPLE_REGISTRY } from "./server-support.js";

interface Captured {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

function fakeResponse(): { res: ServerResponse; out: Captured } {
  const out: Captured = { status: 0, headers: {}, body: "" };
  const res = {
    headersSent: false,
    writeHead(status: number, headers: Record<string, unknown>) {
      out.status = status;
      out.headers = headers;
      return res;
    },
    end(body?: string) {
      out.body = body ?? "";
    },
  };
  return { res: res as unknown as ServerResponse, out };
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("certificates", () => {
  test("are made once and reused; the serving cert covers loopback and the host", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kite-certs-"));
    dirs.push(dir);
    const names = defaultServingNames(["10.96.0.1"]);
    const first = await ensureClusterTls(dir, names);
    const again = await ensureClusterTls(dir, names);
    assert.equal(again.ca.cert, first.ca.cert);
    assert.equal(again.serving.cert, first.serving.cert);
    assert.equal(again.admin.cert, first.admin.cert);
    assert.equal(statSync(join(dir, "tls", "ca.key")).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, "tls", "ca.crt"), "utf8"), first.ca.cert);

    const ca = new X509Certificate(first.ca.cert);
    const serving = new X509Certificate(first.serving.cert);
    assert.ok(serving.verify(ca.publicKey), "serving cert signed by the CA");
    assert.ok(serving.checkIP("127.0.0.1"));
    assert.ok(serving.checkIP("::1"));
    assert.ok(serving.checkIP("10.96.0.1"));
    assert.equal(serving.checkHost("localhost"), "localhost");
    assert.equal(serving.checkHost("kubernetes.default.svc"), "kubernetes.default.svc");
    const admin = new X509Certificate(first.admin.cert);
    assert.ok(admin.verify(ca.publicKey));
    assert.match(admin.subject, /CN=kite-admin/);
    assert.match(admin.subject, /O=system:masters/);
  });

  test("a serving cert missing a wanted name is re-issued from the same CA", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kite-certs-"));
    dirs.push(dir);
    const first = await ensureClusterTls(dir, defaultServingNames());
    const wider = await ensureClusterTls(dir, defaultServingNames(["192.0.2.7"]));
    assert.equal(wider.ca.cert, first.ca.cert);
    assert.equal(wider.admin.cert, first.admin.cert);
    assert.notEqual(wider.serving.cert, first.serving.cert);
    assert.ok(new X509Certificate(wider.serving.cert).checkIP("192.0.2.7"));
  });
});

describe("token file", () => {
  test("parses upstream's format with quoted groups", () => {
    const tokens = parseTokenFile('# comment\nabc,alice,u1,"dev,ops"\n\nxyz,bob,u2\n');
    assert.deepEqual(tokens.get("abc"), { username: "alice", groups: ["dev", "ops"] });
    assert.deepEqual(tokens.get("xyz"), { username: "bob", groups: [] });
    assert.throws(() => parseTokenFile("onlytoken\n"), TokenFileError);
    assert.throws(() => parseTokenFile('t,u,id,"unterminated\n'), /line 1/);
  });
});

describe("health", () => {
  const checks = [
    { name: "ping", check: () => {} },
    {
      name: "etcd",
      check: () => {
        if (etcdDown) throw new Error("down");
      },
    },
  ];
  let etcdDown = false;
  const run = async (path: string, query = "") => {
    const { res, out } = fakeResponse();
    const served = await serveHealth("readyz", checks, path, new URLSearchParams(query), res);
    return { served, ...out };
  };

  test("ok, verbose, exclude, single checks and failures use upstream's text", async () => {
    etcdDown = false;
    assert.deepEqual((await run("/readyz")).body, "ok");
    assert.equal((await run("/readyz", "verbose")).body, "[+]ping ok\n[+]etcd ok\nreadyz check passed\n");
    assert.equal(
      (await run("/readyz", "verbose&exclude=etcd")).body,
      "[+]ping ok\n[+]etcd excluded: ok\nreadyz check passed\n",
    );
    assert.equal((await run("/readyz/etcd")).body, "ok");
    assert.equal((await run("/readyz/nope")).status, 404);
    assert.equal((await run("/healthz")).served, false);
    etcdDown = true;
    const failed = await run("/readyz");
    assert.equal(failed.status, 500);
    assert.equal(failed.body, "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n");
    const one = await run("/readyz/etcd");
    assert.equal(one.status, 500);
    assert.equal(one.body, "internal server error: down\n");
  });
});

describe("discovery", () => {
  const V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
  const V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
  const KUBECTL = `${V2},${V2BETA1},application/json`;
  const discovery = new Discovery(SAMPLE_REGISTRY);
  const get = (path: string, accept?: string) => {
    const { res, out } = fakeResponse();
    const served = discovery.serve(path, accept, "127.0.0.1:6443", res);
    return { served, ...out, json: out.body ? JSON.parse(out.body) : undefined };
  };

  test("negotiation picks the first acceptable media type", () => {
    assert.equal(negotiateDiscovery(KUBECTL)?.aggregated, "v2");
    assert.equal(negotiateDiscovery(V2BETA1)?.aggregated, "v2beta1");
    assert.equal(negotiateDiscovery(`${V2BETA1},application/json`)?.aggregated, "v2beta1");
    assert.equal(negotiateDiscovery(`${V2};q=0.5,${V2BETA1}`)?.aggregated, "v2beta1");
    assert.equal(negotiateDiscovery("application/json")?.aggregated, undefined);
    assert.equal(negotiateDiscovery(undefined)?.contentType, "application/json");
    assert.equal(negotiateDiscovery("application/vnd.kubernetes.protobuf"), undefined);
  });

  test("aggregated v2 for /apis and /api, echoing the content type", () => {
    const apis = get("/apis", KUBECTL);
    assert.equal(apis.headers["Content-Type"], V2);
    assert.equal(apis.json.kind, "APIGroupDiscoveryList");
    assert.equal(apis.json.apiVersion, "apidiscovery.k8s.io/v2");
    assert.deepEqual(
      apis.json.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["apps", "batch"],
    );
    const deployments = apis.json.items[0].versions[0].resources[0];
    assert.equal(apis.json.items[0].versions[0].freshness, "Current");
    assert.deepEqual(deployments.responseKind, { group: "apps", version: "v1", kind: "Deployment" });
    assert.equal(deployments.scope, "Namespaced");
    assert.equal(deployments.singularResource, "deployment");
    assert.deepEqual(deployments.shortNames, ["deploy"]);
    assert.deepEqual(deployments.categories, ["all"]);
    const scale = deployments.subresources.find((s: { subresource: string }) => s.subresource === "scale");
    assert.deepEqual(scale.responseKind, { group: "autoscaling", version: "v1", kind: "Scale" });
    assert.deepEqual(scale.verbs, ["get", "patch", "update"]);

    const api = get("/api", V2BETA1);
    assert.equal(api.headers["Content-Type"], V2BETA1);
    assert.equal(api.json.apiVersion, "apidiscovery.k8s.io/v2beta1");
    assert.equal(api.json.items.length, 1);
    assert.equal(api.json.items[0].metadata.name, "");
    const ns = api.json.items[0].versions[0].resources.find(
      (r: { resource: string }) => r.resource === "namespaces",
    );
    assert.equal(ns.scope, "Cluster");
  });

  test("legacy documents when plain JSON is asked for", () => {
    const api = get("/api", "application/json");
    assert.equal(api.headers["Content-Type"], "application/json");
    assert.deepEqual(api.json, {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1:6443" }],
    });
    const apis = get("/apis");
    assert.equal(apis.json.kind, "APIGroupList");
    assert.deepEqual(apis.json.groups[0], {
      name: "apps",
      versions: [{ groupVersion: "apps/v1", version: "v1" }],
      preferredVersion: { groupVersion: "apps/v1", version: "v1" },
    });
    const core = get("/api/v1", KUBECTL);
    assert.equal(core.json.kind, "APIResourceList");
    assert.equal(core.json.groupVersion, "v1");
    const names = core.json.resources.map((r: { name: string }) => r.name);
    assert.deepEqual(names, [
      "namespaces",
      "namespaces/status",
      "pods",
      "pods/status",
      "pods/log",
      "pods/binding",
    ]);
    const pods = core.json.resources[2];
    assert.deepEqual(
      {
        namespaced: pods.namespaced,
        kind: pods.kind,
        singularName: pods.singularName,
        shortNames: pods.shortNames,
      },
      { namespaced: true, kind: "Pod", singularName: "pod", shortNames: ["po"] },
    );
    const apps = get("/apis/apps/v1");
    const scale = apps.json.resources.find((r: { name: string }) => r.name === "deployments/scale");
    assert.deepEqual([scale.group, scale.version, scale.kind], ["autoscaling", "v1", "Scale"]);
    assert.equal(get("/apis/apps").json.kind, "APIGroup");
    assert.equal(get("/apis/nope/v1").served, false);
    assert.equal(get("/api", "application/vnd.kubernetes.protobuf").status, 406);
  });
});

describe("openapi", () => {
  const openapi = new OpenApi(SAMPLE_REGISTRY);
  const get = (path: string) => {
    const { res, out } = fakeResponse();
    const served = openapi.serve(path, res);
    return { served, ...out, json: out.body ? JSON.parse(out.body) : undefined };
  };

  test("the index links each group-version with its hash; documents carry GVKs and fieldValidation", () => {
    const index = get("/openapi/v3").json;
    assert.deepEqual(Object.keys(index.paths), ["api/v1", "apis/apps/v1", "apis/batch/v1"]);
    const link: string = index.paths["apis/apps/v1"].serverRelativeURL;
    assert.match(link, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
    const doc = get(link.split("?")[0] ?? "").json;
    assert.equal(doc.openapi, "3.0.0");
    const item = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
    assert.deepEqual(item.patch["x-kubernetes-group-version-kind"], {
      group: "apps",
      version: "v1",
      kind: "Deployment",
    });
    assert.ok(item.patch.parameters.some((p: { name: string }) => p.name === "fieldValidation"));
    assert.ok(doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments"].post);
    const schema = doc.components.schemas["io.k8s.api.apps.v1.Deployment"];
    assert.deepEqual(schema["x-kubernetes-group-version-kind"], [
      { group: "apps", kind: "Deployment", version: "v1" },
    ]);
    assert.match(schema.properties.spec.description, /desired behavior/);
    assert.ok(doc.components.schemas["io.k8s.api.apps.v1.DeploymentSpec"].properties.replicas);
    const core = get("/openapi/v3/api/v1").json;
    assert.ok(core.paths["/api/v1/namespaces/{name}"].get);
    assert.ok(core.components.schemas["io.k8s.api.core.v1.PodSpec"].properties.containers);
    const job = get("/openapi/v3/apis/batch/v1").json.components.schemas["io.k8s.api.batch.v1.Job"];
    assert.ok(job.properties.spec.allOf, "Job's fields come from the generated schemas");
    assert.equal(get("/openapi/v3/apis/nope/v1").served, false);
  });
});

describe("metrics and helpers", () => {
  test("request records appear under upstream's names and labels", async () => {
    const metrics = new ApiServerMetrics();
    metrics.record({
      verb: "LIST",
      group: "apps",
      version: "v1",
      resource: "deployments",
      subresource: "",
      scope: "namespace",
      code: 200,
      durationSeconds: 0.01,
    });
    const { body } = await metrics.text();
    assert.match(
      body,
      /apiserver_request_total\{verb="LIST",group="apps",version="v1",resource="deployments",subresource="",scope="namespace",component="apiserver",code="200"\} 1/,
    );
    assert.match(body, /apiserver_request_duration_seconds_bucket\{le="0.025",verb="LIST".*\} 1/);
    assert.match(body, /apiserver_request_duration_seconds_bucket\{le="0.005",verb="LIST".*\} 0/);
  });

  test("the kubernetes service takes the first IP of the range", () => {
    assert.equal(firstServiceIp("10.96.0.0/12"), "10.96.0.1");
    assert.equal(firstServiceIp("10.100.7.0/16"), "10.100.0.1");
    assert.throws(() => firstServiceIp("10.96.0.0"), /invalid service cluster IP range/);
    assert.throws(() => firstServiceIp("300.1.1.1/8"), /invalid/);
  });
});

describe("kite server flags", () => {
  test("parse with defaults, both flag spellings, and clear errors", () => {
    const flags = parseServerFlags([
      "--data-dir",
      "/d",
      "--port=0",
      "--etcd-servers",
      "http://a:2379, http://b:2379",
    ]);
    assert.deepEqual(flags, {
      dataDir: "/d",
      port: 0,
      bindAddress: "127.0.0.1",
      etcdServers: ["http://a:2379", "http://b:2379"],
      serviceClusterIpRange: "10.96.0.0/12",
      help: false,
    });
    assert.equal(parseServerFlags(["--data-dir=/d"]).port, 6443);
    assert.equal(parseServerFlags(["--help"]).help, true);
    assert.throws(() => parseServerFlags([]), /--data-dir is required/);
    assert.throws(() => parseServerFlags(["--data-dir", "/d", "--port", "99999"]), ServerFlagError);
    assert.throws(
      () => parseServerFlags(["--data-dir", "--port", "1"]),
      /flag needs an argument: --data-dir/,
    );
    assert.throws(() => parseServerFlags(["--data-dir", "/d", "--nope"]), /unknown flag: --nope/);
  });
});
