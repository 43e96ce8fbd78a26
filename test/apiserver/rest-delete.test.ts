// Deletion over real HTTP: Status answers, finalizers, propagation finalizers, preconditions, pod
// graceful deletion, namespace termination and /finalize, deletecollection; and the pod
// subresources (binding, eviction, log) and service address allocation.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { builtinRegistry } from "../../src/apiserver/resources/index.js";
import { createRestHandler } from "../../src/apiserver/rest/index.js";
import { pod, type RestHarness, startRest } from "./rest-harness.js";

const now = new Date("2026-03-04T05:06:07Z");
let h: RestHarness;
before(async () => {
  h = await startRest({
    now: () => now,
    podLogs: async (p, query, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end(`logs of ${p.metadata?.name} container=${query.get("container") ?? ""}\n`);
    },
  });
});
after(async () => {
  await h?.stop();
});

const cmPath = "/api/v1/namespaces/default/configmaps";
const podPath = "/api/v1/namespaces/default/pods";
const mergePatch = (path: string, body: unknown) =>
  h.request("PATCH", path, { body, contentType: "application/merge-patch+json" });
const createCm = async (name: string, extra: Record<string, unknown> = {}) => {
  const r = await h.request("POST", cmPath, { body: { metadata: { name, ...extra }, data: {} } });
  assert.equal(r.status, 201, r.text);
  return r.body;
};
const bind = (name: string, node: string) =>
  h.request("POST", `${podPath}/${name}/binding`, {
    body: { apiVersion: "v1", kind: "Binding", metadata: { name }, target: { kind: "Node", name: node } },
  });

describe("delete", () => {
  test("an immediate delete answers a Success Status", async () => {
    const c = await createCm("gone");
    const r = await h.request("DELETE", `${cmPath}/gone`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: "gone", kind: "configmaps", uid: c.metadata.uid },
    });
    assert.equal((await h.request("GET", `${cmPath}/gone`)).status, 404);
    const again = await h.request("DELETE", `${cmPath}/gone`);
    assert.equal(again.status, 404);
    assert.equal(again.body.message, 'configmaps "gone" not found');
  });

  test("finalizers keep the object until the last one is removed", async () => {
    await createCm("held", { finalizers: ["example.com/hold", "example.com/second"] });
    const r = await h.request("DELETE", `${cmPath}/held`, { body: { propagationPolicy: "Background" } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.kind, "ConfigMap");
    assert.equal(r.body.metadata.deletionTimestamp, "2026-03-04T05:06:07Z");
    assert.equal(r.body.metadata.deletionGracePeriodSeconds, 0);
    assert.equal((await h.request("GET", `${cmPath}/held`)).status, 200);
    const one = await mergePatch(`${cmPath}/held`, { metadata: { finalizers: ["example.com/second"] } });
    assert.equal(one.status, 200, one.text);
    assert.equal((await h.request("GET", `${cmPath}/held`)).status, 200);
    const last = await mergePatch(`${cmPath}/held`, { metadata: { finalizers: null } });
    assert.equal(last.status, 200, last.text);
    assert.equal((await h.request("GET", `${cmPath}/held`)).status, 404);
  });

  test("Orphan and Foreground become finalizers for the garbage collector; Background deletes now", async () => {
    await createCm("orphan-me");
    const o = await h.request("DELETE", `${cmPath}/orphan-me`, {
      body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Orphan" },
    });
    assert.equal(o.status, 200, o.text);
    assert.deepEqual(o.body.metadata.finalizers, ["orphan"]);
    assert.ok(o.body.metadata.deletionTimestamp);
    await createCm("fg");
    const f = await h.request("DELETE", `${cmPath}/fg?propagationPolicy=Foreground`);
    assert.deepEqual(f.body.metadata.finalizers, ["foregroundDeletion"]);
    const removed = await mergePatch(`${cmPath}/fg`, { metadata: { finalizers: [] } });
    assert.equal(removed.status, 200);
    assert.equal((await h.request("GET", `${cmPath}/fg`)).status, 404);
    await createCm("bg");
    const b = await h.request("DELETE", `${cmPath}/bg?propagationPolicy=Background`);
    assert.equal(b.body.status, "Success");
    const bad = await h.request("DELETE", `${cmPath}/orphan-me?propagationPolicy=Sometimes`);
    assert.equal(bad.status, 422);
    assert.equal(
      bad.body.message,
      'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sometimes": supported values: "Foreground", "Background", "Orphan", "nil"',
    );
  });

  test("preconditions and dryRun", async () => {
    const c = await createCm("pre");
    const wrong = await h.request("DELETE", `${cmPath}/pre`, { body: { preconditions: { uid: "not-it" } } });
    assert.equal(wrong.status, 409);
    assert.equal(
      wrong.body.message,
      `Operation cannot be fulfilled on configmaps "pre": Precondition failed: UID in precondition: not-it, UID in object meta: ${c.metadata.uid}`,
    );
    const dry = await h.request("DELETE", `${cmPath}/pre?dryRun=All`);
    assert.equal(dry.status, 200);
    assert.equal((await h.request("GET", `${cmPath}/pre`)).status, 200);
    const ok = await h.request("DELETE", `${cmPath}/pre`, {
      body: { preconditions: { uid: c.metadata.uid, resourceVersion: c.metadata.resourceVersion } },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await h.request("GET", `${cmPath}/pre`)).status, 404);
  });

  test("deletecollection deletes what the selector matches", async () => {
    for (const [name, tier] of [
      ["dc1", "x"],
      ["dc2", "x"],
      ["dc3", "y"],
    ])
      await createCm(name!, { labels: { tier: tier! } });
    const r = await h.request("DELETE", `${cmPath}?labelSelector=tier%3Dx`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.kind, "ConfigMapList");
    assert.deepEqual(r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name).sort(), [
      "dc1",
      "dc2",
    ]);
    assert.equal((await h.request("GET", `${cmPath}/dc1`)).status, 404);
    assert.equal((await h.request("GET", `${cmPath}/dc3`)).status, 200);
  });
});

describe("pods", () => {
  test("binding sets the node once; a second binding is 409", async () => {
    assert.equal((await h.request("POST", podPath, { body: pod("b1") })).status, 201);
    const r = await bind("b1", "n1");
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      code: 201,
    });
    const p = (await h.request("GET", `${podPath}/b1`)).body;
    assert.equal(p.spec.nodeName, "n1");
    assert.ok(
      p.status.conditions.some(
        (c: { type: string; status: string }) => c.type === "PodScheduled" && c.status === "True",
      ),
    );
    const again = await bind("b1", "n2");
    assert.equal(again.status, 409);
    assert.equal(
      again.body.message,
      'Operation cannot be fulfilled on pods/binding "b1": pod b1 is already assigned to node "n1"',
    );
    const noTarget = await h.request("POST", `${podPath}/b1/binding`, {
      body: { metadata: { name: "b1" }, target: {} },
    });
    assert.equal(noTarget.status, 422);
    assert.equal((await bind("ghost", "n1")).status, 404);
  });

  test("a bound pod is deleted gracefully; the grace period only shortens; grace 0 removes it", async () => {
    assert.equal((await h.request("POST", podPath, { body: pod("g1") })).status, 201);
    assert.equal((await bind("g1", "n1")).status, 201);
    const first = await h.request("DELETE", `${podPath}/g1`);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.kind, "Pod");
    assert.equal(first.body.metadata.deletionGracePeriodSeconds, 30);
    assert.equal(first.body.metadata.deletionTimestamp, "2026-03-04T05:06:37Z");
    const longer = await h.request("DELETE", `${podPath}/g1?gracePeriodSeconds=60`);
    assert.equal(longer.body.metadata.deletionGracePeriodSeconds, 30);
    const shorter = await h.request("DELETE", `${podPath}/g1`, { body: { gracePeriodSeconds: 10 } });
    assert.equal(shorter.body.metadata.deletionGracePeriodSeconds, 10);
    assert.equal(shorter.body.metadata.deletionTimestamp, "2026-03-04T05:06:17Z");
    assert.equal((await h.request("GET", `${podPath}/g1`)).status, 200);
    const done = await h.request("DELETE", `${podPath}/g1?gracePeriodSeconds=0`);
    assert.equal(done.status, 200);
    assert.equal(done.body.kind, "Pod", "pods answer with the deleted object");
    assert.equal((await h.request("GET", `${podPath}/g1`)).status, 404);
  });

  test("terminationGracePeriodSeconds sets the default; unbound pods go at once", async () => {
    const p = pod("g2");
    (p.spec as Record<string, unknown>).terminationGracePeriodSeconds = 5;
    assert.equal((await h.request("POST", podPath, { body: p })).status, 201);
    assert.equal((await bind("g2", "n1")).status, 201);
    const r = await h.request("DELETE", `${podPath}/g2`);
    assert.equal(r.body.metadata.deletionGracePeriodSeconds, 5);
    assert.equal((await h.request("POST", podPath, { body: pod("u1") })).status, 201);
    const u = await h.request("DELETE", `${podPath}/u1`);
    assert.equal(u.status, 200);
    assert.equal(u.body.metadata.deletionTimestamp, undefined);
    assert.equal((await h.request("GET", `${podPath}/u1`)).status, 404);
  });

  test("eviction deletes the pod and answers 201 Success", async () => {
    assert.equal((await h.request("POST", podPath, { body: pod("e1") })).status, 201);
    const r = await h.request("POST", `${podPath}/e1/eviction`, {
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "e1", namespace: "default" } },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.status, "Success");
    assert.equal((await h.request("GET", `${podPath}/e1`)).status, 404);
    const mismatch = await h.request("POST", `${podPath}/e1/eviction`, {
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "zz" } },
    });
    assert.equal(mismatch.status, 400);
  });

  test("logs come from the pluggable source; without one the answer is 503", async () => {
    assert.equal((await h.request("POST", podPath, { body: pod("l1") })).status, 201);
    const unscheduled = await h.request("GET", `${podPath}/l1/log`);
    assert.equal(unscheduled.status, 400);
    assert.equal(unscheduled.body.message, "pod l1 does not have a host assigned");
    assert.equal((await bind("l1", "n1")).status, 201);
    const r = await h.request("GET", `${podPath}/l1/log?container=c`);
    assert.equal(r.status, 200);
    assert.equal(r.text, "logs of l1 container=c\n");
    const bare = createRestHandler({
      store: h.store,
      registry: builtinRegistry(),
      authorizer: { authorize: async () => ({ allowed: true }) },
    });
    const server = createServer((req, res) => void bare(req, res, { username: "u", groups: [] }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${podPath}/l1/log`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { reason: string; message: string };
      assert.equal(body.reason, "ServiceUnavailable");
      assert.match(body.message, /no kubelet/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("namespaces", () => {
  test("delete marks Terminating, blocks new content, and /finalize removes it", async () => {
    const c = await h.request("POST", "/api/v1/namespaces", { body: { metadata: { name: "doomed" } } });
    assert.equal(c.status, 201, c.text);
    assert.deepEqual(c.body.spec.finalizers, ["kubernetes"]);
    const d = await h.request("DELETE", "/api/v1/namespaces/doomed");
    assert.equal(d.status, 200, d.text);
    assert.equal(d.body.kind, "Namespace");
    assert.equal(d.body.status.phase, "Terminating");
    assert.equal(d.body.metadata.deletionTimestamp, "2026-03-04T05:06:07Z");
    const blocked = await h.request("POST", "/api/v1/namespaces/doomed/configmaps", {
      body: { metadata: { name: "x" } },
    });
    assert.equal(blocked.status, 403);
    assert.equal(
      blocked.body.message,
      'configmaps "x" is forbidden: unable to create new content in namespace doomed because it is being terminated',
    );
    const again = await h.request("DELETE", "/api/v1/namespaces/doomed");
    assert.equal(again.status, 200);
    assert.equal((await h.request("GET", "/api/v1/namespaces/doomed")).status, 200);
    const cur = (await h.request("GET", "/api/v1/namespaces/doomed")).body;
    const fin = await h.request("PUT", "/api/v1/namespaces/doomed/finalize", {
      body: { ...cur, spec: { finalizers: [] } },
    });
    assert.equal(fin.status, 200, fin.text);
    assert.equal((await h.request("GET", "/api/v1/namespaces/doomed")).status, 404);
  });

  test("spec.finalizers change only through /finalize", async () => {
    const c = await h.request("POST", "/api/v1/namespaces", { body: { metadata: { name: "keep" } } });
    const u = await h.request("PUT", "/api/v1/namespaces/keep", {
      body: { ...c.body, spec: { finalizers: [] } },
    });
    assert.equal(u.status, 200, u.text);
    assert.deepEqual(u.body.spec.finalizers, ["kubernetes"]);
  });

  test("the system namespaces may not be deleted", async () => {
    const r = await h.request("DELETE", "/api/v1/namespaces/kube-system");
    assert.equal(r.status, 403);
    assert.equal(r.body.message, 'namespaces "kube-system" is forbidden: this namespace may not be deleted');
  });
});

describe("services", () => {
  const svcPath = "/api/v1/namespaces/default/services";
  const svc = (name: string, spec: Record<string, unknown> = {}) => ({
    metadata: { name },
    spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
  });
  const inRange = (ip: string) => {
    const [a, b] = ip.split(".").map(Number);
    return a === 10 && b! >= 96 && b! <= 111;
  };

  test("ClusterIPs come from 10.96.0.0/12, distinct; taken ones are 422; delete frees them", async () => {
    const a = await h.request("POST", svcPath, { body: svc("a") });
    assert.equal(a.status, 201, a.text);
    const ip = a.body.spec.clusterIP as string;
    assert.ok(inRange(ip), ip);
    assert.deepEqual(a.body.spec.clusterIPs, [ip]);
    assert.deepEqual(a.body.spec.ipFamilies, ["IPv4"]);
    const b = await h.request("POST", svcPath, { body: svc("b") });
    assert.notEqual(b.body.spec.clusterIP, ip);
    const taken = await h.request("POST", svcPath, { body: svc("c", { clusterIP: ip }) });
    assert.equal(taken.status, 422);
    assert.equal(
      taken.body.message,
      `Service "c" is invalid: spec.clusterIPs: Invalid value: ["${ip}"]: failed to allocate IP ${ip}: provided IP is already allocated`,
    );
    const outside = await h.request("POST", svcPath, { body: svc("c", { clusterIP: "192.168.0.1" }) });
    assert.equal(outside.status, 422);
    const headless = await h.request("POST", svcPath, { body: svc("h", { clusterIP: "None" }) });
    assert.equal(headless.status, 201, headless.text);
    assert.deepEqual(headless.body.spec.clusterIPs, ["None"]);
    const del = await h.request("DELETE", `${svcPath}/a`);
    assert.equal(del.status, 200);
    assert.equal(del.body.kind, "Service");
    const reuse = await h.request("POST", svcPath, { body: svc("c", { clusterIP: ip }) });
    assert.equal(reuse.status, 201, reuse.text);
    assert.equal(reuse.body.spec.clusterIP, ip);
  });

  test("NodePorts come from 30000-32767; an update keeps them; taken ones are 422", async () => {
    const n = await h.request("POST", svcPath, {
      body: svc("np", {
        type: "NodePort",
        ports: [
          { port: 80, name: "http" },
          { port: 443, name: "tls" },
        ],
      }),
    });
    assert.equal(n.status, 201, n.text);
    const ports = n.body.spec.ports.map((p: { nodePort: number }) => p.nodePort);
    for (const p of ports) assert.ok(p >= 30000 && p <= 32767, String(p));
    assert.notEqual(ports[0], ports[1]);
    const cur = n.body;
    const upd = {
      ...cur,
      spec: {
        ...cur.spec,
        clusterIP: undefined,
        clusterIPs: undefined,
        ports: cur.spec.ports.map((p: object) => ({ ...p, nodePort: undefined })),
      },
    };
    upd.metadata = { ...cur.metadata, labels: { changed: "yes" } };
    const u = await h.request("PUT", `${svcPath}/np`, { body: upd });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.body.spec.clusterIP, cur.spec.clusterIP);
    assert.deepEqual(
      u.body.spec.ports.map((p: { nodePort: number }) => p.nodePort),
      ports,
    );
    const clash = await h.request("POST", svcPath, {
      body: svc("np2", { type: "NodePort", ports: [{ port: 80, nodePort: ports[0] }] }),
    });
    assert.equal(clash.status, 422);
    assert.match(
      clash.body.message,
      /spec\.ports\[0\]\.nodePort: Invalid value: \d+: provided port is already allocated/,
    );
  });

  test("concurrent creates never share an address", async () => {
    const created = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        h.request("POST", svcPath, { body: svc(`par${i}`, { type: "NodePort" }) }),
      ),
    );
    for (const r of created) assert.equal(r.status, 201, r.text);
    const ips = new Set(created.map((r) => r.body.spec.clusterIP));
    const nodePorts = new Set(created.map((r) => r.body.spec.ports[0].nodePort));
    assert.equal(ips.size, 12);
    assert.equal(nodePorts.size, 12);
  });
});
