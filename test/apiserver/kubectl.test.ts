// The end-to-end test: the real kubectl (1.32, chosen by the dispatcher from /version) against
// `kite server` run from the compiled CLI with its embedded store. Steps run in order against
// one server, as a user would type them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { need, waitFor } from "../support/require.js";
import { haveKubectl, type KiteServerProcess, startKiteServer } from "./kubectl-support.js";

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: demo
  labels:
    app: web
data:
  greeting: hello
`;

const configMap = (name: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: demo
data:
  k: v
`;

const rowsOf = (out: string) => out.trim().split("\n");
const cells = (line: string) => line.trim().split(/\s{2,}/);

test("kubectl is available", (t) => {
  need(t, haveKubectl, "kubectl is not installed at /usr/bin/kubectl");
});

describe("kubectl against kite server", { skip: !haveKubectl }, () => {
  let kite: KiteServerProcess;

  before(async () => {
    kite = await startKiteServer();
  });
  after(async () => {
    await kite?.stop();
  });

  test("kite kubeconfig prints the admin kubeconfig", async () => {
    const r = await kite.kite(["kubeconfig", "--data-dir", kite.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(kite.kubeconfig, "utf8"));
    assert.match(r.stdout, /current-context: kite/);
    assert.match(r.stdout, new RegExp(`server: ${kite.url.replace(/\./g, "\\.")}`));
  });

  test("version reports the server as 1.32", async () => {
    const out = JSON.parse(await kite.ok(["version", "-o", "json"]));
    assert.equal(out.serverVersion.major, "1");
    assert.equal(out.serverVersion.minor, "32");
    assert.match(out.clientVersion.gitVersion, /^v1\.32\./);
  });

  test("apply -f of a multi-document manifest with default validation", async () => {
    const out = await kite.ok(["apply", "-f", "-"], MANIFEST);
    assert.match(out, /namespace\/demo created/);
    assert.match(out, /deployment\.apps\/web created/);
    assert.match(out, /service\/web created/);
    assert.match(out, /configmap\/cfg created/);
    const again = await kite.ok(["apply", "-f", "-"], MANIFEST);
    assert.match(again, /deployment\.apps\/web unchanged/);
  });

  test("get: table, wide, yaml, json, jsonpath", async () => {
    const table = rowsOf(await kite.ok(["get", "deployments", "-n", "demo"]));
    assert.deepEqual(cells(table[0] ?? ""), ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    assert.deepEqual(cells(table[1] ?? "").slice(0, 2), ["web", "0/2"]);

    const wide = rowsOf(await kite.ok(["get", "deploy", "web", "-n", "demo", "-o", "wide"]));
    assert.deepEqual(cells(wide[0] ?? "").slice(5), ["CONTAINERS", "IMAGES", "SELECTOR"]);
    assert.deepEqual(cells(wide[1] ?? "").slice(5), ["nginx", "nginx:1.27", "app=web"]);

    const yaml = await kite.ok(["get", "svc", "web", "-n", "demo", "-o", "yaml"]);
    assert.match(yaml, /^kind: Service$/m);
    assert.match(yaml, /clusterIP: 10\.(9[6-9]|1[01]\d)\.\d+\.\d+/);

    const json = JSON.parse(await kite.ok(["get", "configmap", "cfg", "-n", "demo", "-o", "json"]));
    assert.equal(json.data.greeting, "hello");
    assert.ok(json.metadata.uid);
    assert.ok(json.metadata.resourceVersion);

    const replicas = await kite.ok(["get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.replicas}"]);
    assert.equal(replicas, "2");
  });

  test("get with -l, --field-selector, -A and the bootstrap objects", async () => {
    const byLabel = await kite.ok(["get", "configmaps", "-n", "demo", "-l", "app=web", "-o", "name"]);
    assert.equal(byLabel.trim(), "configmap/cfg");
    const byField = await kite.ok([
      "get",
      "cm",
      "-n",
      "demo",
      "--field-selector",
      "metadata.name=cfg",
      "-o",
      "name",
    ]);
    assert.equal(byField.trim(), "configmap/cfg");
    const none = await kite.kubectl(["get", "cm", "-n", "demo", "--field-selector", "metadata.name=nope"]);
    assert.equal(none.code, 0);
    assert.match(none.stderr, /No resources found in demo namespace/);

    const all = rowsOf(await kite.ok(["get", "deployments", "-A"]));
    assert.deepEqual(cells(all[0] ?? "").slice(0, 2), ["NAMESPACE", "NAME"]);
    assert.deepEqual(cells(all[1] ?? "").slice(0, 2), ["demo", "web"]);

    const namespaces = await kite.ok(["get", "namespaces", "-o", "name"]);
    for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease", "demo"]) {
      assert.match(namespaces, new RegExp(`^namespace/${ns}$`, "m"));
    }
    const svc = await kite.ok([
      "get",
      "svc",
      "kubernetes",
      "-n",
      "default",
      "-o",
      "jsonpath={.spec.clusterIP}",
    ]);
    assert.equal(svc, "10.96.0.1");
  });

  test("get -w prints the listing, then changes", async () => {
    const watch = kite.stream(["get", "configmaps", "-n", "demo", "-w"]);
    try {
      await waitFor(() => watch.lines().some((l) => l.startsWith("cfg ")), 20_000, "the watch listing");
      await kite.ok(["apply", "-f", "-"], configMap("watched"));
      await waitFor(() => watch.lines().some((l) => l.startsWith("watched ")), 20_000, "the watch event");
      assert.deepEqual(cells(watch.lines()[0] ?? ""), ["NAME", "DATA", "AGE"]);
    } finally {
      await watch.stop();
    }
  });

  test("describe", async () => {
    const out = await kite.ok(["describe", "deployment", "web", "-n", "demo"]);
    assert.match(out, /^Name:\s+web$/m);
    assert.match(out, /^Namespace:\s+demo$/m);
    assert.match(out, /^Replicas:\s+2 desired/m);
    assert.match(out, /nginx:1\.27/);
    const cm = await kite.ok(["describe", "configmap", "cfg", "-n", "demo"]);
    assert.match(cm, /greeting/);
  });

  test("label and annotate", async () => {
    assert.match(
      await kite.ok(["label", "deploy", "web", "-n", "demo", "tier=frontend"]),
      /deployment\.apps\/web labeled/,
    );
    const labelled = await kite.ok(["get", "deploy", "-n", "demo", "-l", "tier=frontend", "-o", "name"]);
    assert.equal(labelled.trim(), "deployment.apps/web");
    assert.match(
      await kite.ok(["annotate", "cm", "cfg", "-n", "demo", "owner=team-a"]),
      /configmap\/cfg annotated/,
    );
    const note = await kite.ok([
      "get",
      "cm",
      "cfg",
      "-n",
      "demo",
      "-o",
      "jsonpath={.metadata.annotations.owner}",
    ]);
    assert.equal(note, "team-a");
  });

  test("scale and patch", async () => {
    assert.match(
      await kite.ok(["scale", "deployment", "web", "-n", "demo", "--replicas=3"]),
      /deployment\.apps\/web scaled/,
    );
    assert.equal(
      await kite.ok(["get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.replicas}"]),
      "3",
    );
    const patched = await kite.ok([
      "patch",
      "deployment",
      "web",
      "-n",
      "demo",
      "-p",
      '{"spec":{"replicas":1}}',
    ]);
    assert.match(patched, /deployment\.apps\/web patched/);
    assert.equal(
      await kite.ok(["get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.replicas}"]),
      "1",
    );
    await kite.ok(["patch", "cm", "cfg", "-n", "demo", "--type=merge", "-p", '{"data":{"greeting":"hi"}}']);
    await kite.ok([
      "patch",
      "cm",
      "cfg",
      "-n",
      "demo",
      "--type=json",
      "-p",
      '[{"op":"add","path":"/data/extra","value":"x"}]',
    ]);
    const data = JSON.parse(await kite.ok(["get", "cm", "cfg", "-n", "demo", "-o", "jsonpath={.data}"]));
    assert.deepEqual(data, { greeting: "hi", extra: "x" });
  });

  test("get all", async () => {
    const out = await kite.ok(["get", "all", "-n", "demo"]);
    assert.match(out, /deployment\.apps\/web/);
    assert.match(out, /service\/web/);
  });

  test("explain", async () => {
    const deployment = await kite.ok(["explain", "deployment"]);
    assert.match(deployment, /KIND:\s+Deployment/);
    assert.match(deployment, /VERSION:\s+v1/);
    assert.match(deployment, /spec\s+<DeploymentSpec>/);
    const podSpec = await kite.ok(["explain", "pod.spec"]);
    assert.match(podSpec, /FIELD: spec <PodSpec>/);
    assert.match(podSpec, /containers\s+<\[\]Container> -required-/);
  });

  test("delete, including its wait", async () => {
    assert.match(
      await kite.ok(["delete", "deployment", "web", "-n", "demo"]),
      /deployment\.apps "web" deleted/,
    );
    assert.match(
      await kite.ok(["delete", "-n", "demo", "service/web", "configmap/cfg"]),
      /configmap "cfg" deleted/,
    );
    const gone = await kite.kubectl(["get", "deployment", "web", "-n", "demo"]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /deployments\.apps "web" not found/);
  });

  test("SIGTERM stops the server cleanly", async () => {
    assert.equal(await kite.stop(), 0);
    assert.match(kite.output(), /stopping: received SIGTERM/);
  });
});
