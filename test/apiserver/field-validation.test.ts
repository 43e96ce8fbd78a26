// fieldValidation on create, update and patch as upstream: Strict → 400 with the strict decoding
// error (unknown and duplicate fields, with their paths), Warn (the default) → Warning headers,
// Ignore → nothing; every served kind has a generated schema, and /openapi/v3 serves exactly the
// fields the check uses. Then the real kubectl: apply --validate=strict fails with upstream's
// message, --validate=warn prints the warning, explain reads the generated schemas.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { builtinRegistry } from "../../src/apiserver/resources/index.js";
import { duplicateFields } from "../../src/apiserver/rest/field-validation.js";
import { kindType, kindTypeName, TYPES, unknownFields } from "../../src/apiserver/schemas/index.js";
import { OpenApi } from "../../src/apiserver/server/openapi.js";
import { startCluster, type TestCluster } from "../client/cluster.js";
import { need } from "../support/require.js";
import { haveKubectl, KUBECTL } from "./kubectl-support.js";

interface Reply {
  status: number;
  warnings: string[];
  body: { message?: string; [k: string]: unknown };
}

function call(cluster: TestCluster, method: string, path: string, body: string, type = "application/json") {
  const url = new URL(path, cluster.server.url);
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: cluster.server.caCert,
        headers: { authorization: `Bearer ${cluster.server.adminToken}`, "content-type": type },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => {
          const warnings = res.rawHeaders.filter(
            (_, i) => i % 2 === 1 && /^warning$/i.test(res.rawHeaders[i - 1]!),
          );
          resolve({ status: res.statusCode ?? 0, warnings, body: text ? JSON.parse(text) : {} });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const deployment = (
  name: string,
  extraSpec: Record<string, unknown> = {},
  container: Record<string, unknown> = {},
) =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "busybox", ...container }] },
      },
      ...extraSpec,
    },
  });

const DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments";

describe("schemas", () => {
  test("every served kind has a generated schema, and /openapi/v3 serves the same fields", () => {
    const registry = builtinRegistry();
    const openapi = new OpenApi(registry);
    for (const def of registry.all()) {
      const type = kindType(def.group, def.version, def.kind);
      assert.ok(type, `${def.group}/${def.kind} has a schema`);
      const key = def.group === "" ? `api/${def.version}` : `apis/${def.group}/${def.version}`;
      let doc = "";
      openapi.serve(`/openapi/v3/${key}`, {
        writeHead: () => ({ end: (b: string) => (doc = b) }),
        setHeader() {},
        end: (b: string) => {
          doc = b;
        },
      } as never);
      const served = JSON.parse(doc).components.schemas[kindTypeName(def.group, def.version, def.kind)];
      assert.deepEqual(Object.keys(served.properties).sort(), Object.keys(type.f).sort(), def.kind);
    }
    // Referenced types are all in the tables.
    for (const t of Object.values(TYPES))
      for (const [code] of Object.values(t.f)) {
        const ref = /#(.+)$/.exec(code)?.[1];
        if (ref) assert.ok(TYPES[ref], ref);
      }
  });

  test("unknown and duplicate field paths as upstream's strict decoder names them", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", labels: { a: "b" }, bogus: 1 },
      spec: { containers: [{ name: "c" }, { name: "d", imagePullPolice: "x" }], nope: true },
      status: { phase: "Running" },
    };
    assert.deepEqual(unknownFields(pod, "io.k8s.api.core.v1.Pod"), [
      "metadata.bogus",
      "spec.containers[1].imagePullPolice",
      "spec.nope",
    ]);
    assert.deepEqual(duplicateFields('{"a":1,"b":{"c":[{"d":1,"d":2}]},"a":3}'), [
      'duplicate field "b.c[0].d"',
      'duplicate field "a"',
    ]);
    assert.deepEqual(duplicateFields('{"s":"x\\"y","t":[1,2,{"u":"}"}]}'), []);
  });
});

describe("fieldValidation over HTTP", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.close();
  });

  test("Strict: 400 with upstream's message, for unknown (nested) and duplicate fields", async () => {
    const r = await call(
      cluster,
      "POST",
      `${DEPLOYMENTS}?fieldValidation=Strict`,
      deployment("s1", { foo: 1 }),
    );
    assert.equal(r.status, 400);
    assert.equal(r.body.reason, "BadRequest");
    assert.equal(
      r.body.message,
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"',
    );
    const nested = await call(
      cluster,
      "POST",
      `${DEPLOYMENTS}?fieldValidation=Strict`,
      deployment("s2", {}, { imagePullPolice: "Always" }),
    );
    assert.match(
      nested.body.message ?? "",
      /unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolice"$/,
    );
    const dup = await call(
      cluster,
      "POST",
      "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d","name":"d"},"data":{"a":"1"}}',
    );
    assert.equal(dup.status, 400);
    assert.equal(
      dup.body.message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "metadata.name"',
    );
    const ok = await call(cluster, "POST", `${DEPLOYMENTS}?fieldValidation=Strict`, deployment("s3"));
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.warnings, []);
  });

  test("Warn (also the default): created, with a Warning header per problem; Ignore: silent", async () => {
    for (const q of ["?fieldValidation=Warn", ""]) {
      const name = q === "" ? "w2" : "w1";
      const r = await call(cluster, "POST", `${DEPLOYMENTS}${q}`, deployment(name, { foo: 1, bar: 2 }));
      assert.equal(r.status, 201);
      assert.deepEqual(r.warnings, [
        '299 - "unknown field \\"spec.foo\\""',
        '299 - "unknown field \\"spec.bar\\""',
      ]);
      assert.equal((r.body.spec as Record<string, unknown>).foo, undefined, "unknown fields are dropped");
    }
    const ignored = await call(
      cluster,
      "POST",
      `${DEPLOYMENTS}?fieldValidation=Ignore`,
      deployment("i1", { foo: 1 }),
    );
    assert.equal(ignored.status, 201);
    assert.deepEqual(ignored.warnings, []);
    const bad = await call(cluster, "POST", `${DEPLOYMENTS}?fieldValidation=Sometimes`, deployment("b1"));
    assert.equal(bad.status, 422);
    assert.match(bad.body.message ?? "", /fieldValidation: Unsupported value: "Sometimes"/);
  });

  test("update and patch", async () => {
    const created = await call(cluster, "POST", DEPLOYMENTS, deployment("u1"));
    assert.equal(created.status, 201);
    const obj = created.body as { spec: Record<string, unknown> };
    obj.spec.foo = 1;
    const put = await call(cluster, "PUT", `${DEPLOYMENTS}/u1?fieldValidation=Strict`, JSON.stringify(obj));
    assert.equal(put.status, 400);
    assert.match(
      put.body.message ?? "",
      /cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"$/,
    );
    const merge = "application/merge-patch+json";
    const patch = await call(
      cluster,
      "PATCH",
      `${DEPLOYMENTS}/u1?fieldValidation=Strict`,
      '{"spec":{"foo":1}}',
      merge,
    );
    assert.equal(patch.status, 400);
    assert.equal(patch.body.message, 'strict decoding error: unknown field "spec.foo"');
    const smp = "application/strategic-merge-patch+json";
    const warned = await call(cluster, "PATCH", `${DEPLOYMENTS}/u1`, '{"spec":{"replicas":2,"foo":1}}', smp);
    assert.equal(warned.status, 200);
    assert.deepEqual(warned.warnings, ['299 - "unknown field \\"spec.foo\\""']);
    assert.equal((warned.body.spec as Record<string, unknown>).replicas, 2);
    const apply = "application/apply-patch+yaml";
    const ssaBody = JSON.stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "u1", namespace: "default" },
      spec: { replicas: 3, template: { spec: { containers: [{ name: "c", foo: 1 }] } } },
    });
    const ssa = await call(
      cluster,
      "PATCH",
      `${DEPLOYMENTS}/u1?fieldManager=t&fieldValidation=Ignore`,
      ssaBody,
      apply,
    );
    assert.equal(ssa.status, 500);
    assert.equal(ssa.body.reason, undefined);
    assert.equal(
      ssa.body.message,
      'failed to create typed patch object (default/u1; apps/v1, Kind=Deployment): .spec.template.spec.containers[name="c"].foo: field not declared in schema',
    );
  });
});

describe("fieldValidation with the real kubectl", () => {
  let cluster: TestCluster | undefined;
  let cacheDir = "";
  before(async () => {
    if (!haveKubectl) return;
    cluster = await startCluster();
    cacheDir = mkdtempSync(join(tmpdir(), "kite-kubectl-cache-"));
  });
  after(async () => {
    await cluster?.close();
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  });

  const kubectl = (args: string[], stdin?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const base = [
        "--kubeconfig",
        cluster!.server.kubeconfigPath,
        "--cache-dir",
        cacheDir,
        "--request-timeout",
        "30s",
      ];
      const proc = execFile(KUBECTL, [...base, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
      );
      proc.stdin?.end(stdin);
    });

  const manifest = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: web
        image: nginx
        imagePullPolice: Always
`;

  test("apply --validate=strict fails with upstream's message; --validate=warn prints the warning", async (t) => {
    if (!need(t, haveKubectl, "kubectl is not installed")) return;
    const strict = await kubectl(["apply", "--validate=strict", "-f", "-"], manifest("typo"));
    assert.notEqual(strict.code, 0);
    assert.match(
      strict.stderr,
      /Error from server \(BadRequest\): error when creating "STDIN": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolice"/,
    );
    const warn = await kubectl(["apply", "--validate=warn", "-f", "-"], manifest("typo"));
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(
      warn.stderr,
      /Warning: unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolice"/,
    );
    assert.match(warn.stdout, /deployment\.apps\/typo created/);
    // The object exists now: a strict apply that adds a typo is a patch, and fails the same way.
    const again = await kubectl(
      ["apply", "--validate=strict", "-f", "-"],
      manifest("typo").replace("replicas:", "replicaz:"),
    );
    assert.notEqual(again.code, 0);
    assert.match(
      again.stderr,
      /Error from server \(BadRequest\).*strict decoding error: .*unknown field "spec\.replicaz"/s,
    );
  });

  test("apply --server-side fails on unknown fields as structured-merge-diff does", async (t) => {
    if (!need(t, haveKubectl, "kubectl is not installed")) return;
    const ssa = await kubectl(["apply", "--server-side", "-f", "-"], manifest("ssa"));
    assert.notEqual(ssa.code, 0);
    assert.match(
      ssa.stderr,
      /Error from server: failed to create typed patch object \(default\/ssa; apps\/v1, Kind=Deployment\): \.spec\.template\.spec\.containers\[name="web"\]\.imagePullPolice: field not declared in schema/,
    );
    const fixed = await kubectl(
      ["apply", "--server-side", "-f", "-"],
      manifest("ssa").replace(/ +imagePullPolice.*\n/, ""),
    );
    assert.equal(fixed.code, 0, fixed.stderr);
  });

  test("explain reads the generated schemas of kinds beyond the first five", async (t) => {
    if (!need(t, haveKubectl, "kubectl is not installed")) return;
    const ingress = await kubectl(["explain", "ingress.spec.rules"]);
    assert.equal(ingress.code, 0, ingress.stderr);
    assert.match(ingress.stdout, /FIELD: rules <\[\]IngressRule>/);
    assert.match(ingress.stdout, /http\s+<HTTPIngressRuleValue>/);
    const probe = await kubectl(["explain", "job.spec.template.spec.containers.livenessProbe.httpGet"]);
    assert.equal(probe.code, 0, probe.stderr);
    assert.match(probe.stdout, /port\s+<\S+> -required-\n\s+IntOrString is a type/);
  });
});
