// kubectl 1.32's `create <generator>` commands send protobuf (client-go typed clients); these run
// the real kubectl against `kite server` and read the objects back as JSON.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { need } from "../support/require.js";
import { haveKubectl, type KiteServerProcess, startKiteServer } from "./kubectl-support.js";

test("kubectl is available for the create generators", (t) => {
  need(t, haveKubectl, "kubectl is not installed at /usr/bin/kubectl");
});

describe("kubectl create generators (protobuf bodies)", { skip: !haveKubectl }, () => {
  let kite: KiteServerProcess;
  const json = async (args: string[]) => JSON.parse(await kite.ok([...args, "-o", "json"]));

  before(async () => {
    kite = await startKiteServer(["--disable-controllers", "--disable-scheduler"]);
  });
  after(async () => {
    await kite?.stop();
  });

  test("create deployment", async () => {
    assert.match(
      await kite.ok(["create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "--port=80"]),
      /deployment.apps\/web created/,
    );
    const d = await json(["get", "deployment", "web"]);
    assert.equal(d.spec.replicas, 3);
    assert.deepEqual(d.spec.selector, { matchLabels: { app: "web" } });
    const c = d.spec.template.spec.containers[0];
    assert.equal(c.name, "nginx");
    assert.equal(c.image, "nginx:1.27");
    assert.deepEqual(c.ports, [{ containerPort: 80, protocol: "TCP" }]);
    assert.match(d.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test("create deployment --replicas=0 keeps the zero", async () => {
    await kite.ok(["create", "deployment", "zero", "--image=busybox", "--replicas=0"]);
    assert.equal((await json(["get", "deployment", "zero"])).spec.replicas, 0);
  });

  test("create namespace, configmap, secret, serviceaccount, quota", async () => {
    await kite.ok(["create", "namespace", "pb"]);
    assert.equal((await json(["get", "namespace", "pb"])).status.phase, "Active");
    await kite.ok(["create", "configmap", "c1", "-n", "pb", "--from-literal=a=b", "--from-literal=empty="]);
    assert.deepEqual((await json(["get", "configmap", "c1", "-n", "pb"])).data, { a: "b", empty: "" });
    await kite.ok(["create", "secret", "generic", "s1", "-n", "pb", "--from-literal=p=q"]);
    const s = await json(["get", "secret", "s1", "-n", "pb"]);
    assert.deepEqual(s.data, { p: Buffer.from("q").toString("base64") });
    assert.equal(s.type, "Opaque");
    await kite.ok(["create", "serviceaccount", "sa1", "-n", "pb"]);
    await kite.ok(["get", "serviceaccount", "sa1", "-n", "pb"]);
    await kite.ok(["create", "quota", "q1", "-n", "pb", "--hard=pods=10,requests.cpu=2"]);
    assert.deepEqual((await json(["get", "quota", "q1", "-n", "pb"])).spec.hard, {
      pods: "10",
      "requests.cpu": "2",
    });
  });

  test("create service clusterip, nodeport, externalname", async () => {
    await kite.ok(["create", "service", "clusterip", "svc1", "--tcp=80:8080"]);
    const svc = await json(["get", "service", "svc1"]);
    assert.deepEqual(svc.spec.ports, [{ name: "80-8080", port: 80, protocol: "TCP", targetPort: 8080 }]);
    assert.deepEqual(svc.spec.selector, { app: "svc1" });
    await kite.ok(["create", "service", "nodeport", "np1", "--tcp=81:8081", "--node-port=30081"]);
    assert.equal((await json(["get", "service", "np1"])).spec.ports[0].nodePort, 30081);
    await kite.ok(["create", "service", "externalname", "ex1", "--external-name=example.com"]);
    const ex = await json(["get", "service", "ex1"]);
    assert.equal(ex.spec.type, "ExternalName");
    assert.equal(ex.spec.externalName, "example.com");
  });

  test("create job and cronjob", async () => {
    await kite.ok(["create", "job", "j1", "--image=busybox", "--", "echo", "hi"]);
    const j = await json(["get", "job", "j1"]);
    assert.deepEqual(j.spec.template.spec.containers[0].command, ["echo", "hi"]);
    assert.equal(j.spec.template.spec.restartPolicy, "Never");
    await kite.ok(["create", "cronjob", "cj1", "--image=busybox", "--schedule=*/5 * * * *", "--", "date"]);
    const cj = await json(["get", "cronjob", "cj1"]);
    assert.equal(cj.spec.schedule, "*/5 * * * *");
    assert.deepEqual(cj.spec.jobTemplate.spec.template.spec.containers[0].command, ["date"]);
  });

  test("create role, rolebinding, clusterrole, clusterrolebinding, ingress", async () => {
    await kite.ok(["create", "role", "r1", "--verb=get,list", "--resource=pods"]);
    assert.deepEqual((await json(["get", "role", "r1"])).rules, [
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
    ]);
    await kite.ok(["create", "rolebinding", "rb1", "--role=r1", "--user=alice"]);
    const rb = await json(["get", "rolebinding", "rb1"]);
    assert.deepEqual(rb.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r1" });
    assert.deepEqual(rb.subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }]);
    await kite.ok(["create", "clusterrole", "cr1", "--verb=get", "--resource=nodes"]);
    await kite.ok(["create", "clusterrolebinding", "crb1", "--clusterrole=cr1", "--group=ops"]);
    assert.equal((await json(["get", "clusterrolebinding", "crb1"])).subjects[0].kind, "Group");
    await kite.ok(["create", "ingress", "in1", "--rule=foo.com/bar=svc1:80"]);
    assert.deepEqual((await json(["get", "ingress", "in1"])).spec.rules, [
      {
        host: "foo.com",
        http: {
          paths: [
            { backend: { service: { name: "svc1", port: { number: 80 } } }, path: "/bar", pathType: "Exact" },
          ],
        },
      },
    ]);
  });

  test("invalid objects from a generator get the usual 422", async () => {
    const r = await kite.kubectl(["create", "deployment", "Bad_Name", "--image=x"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is invalid/);
  });
});
