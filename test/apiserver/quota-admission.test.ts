// ResourceQuota admission on create, against the real REST stack without controllers: each test
// writes the quota's status (as the resourcequota controller would) and checks what creates are
// let through, the 403 messages upstream gives, the charge to status.used, its compare-and-swap
// under parallel creates, dryRun, and the refund when the create itself fails.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type RestHarness, startRest } from "./rest-harness.js";

let h: RestHarness;
let nsSeq = 0;

before(async () => {
  h = await startRest();
});
after(async () => {
  await h.stop();
});

async function namespace(): Promise<string> {
  const ns = `quota-${++nsSeq}`;
  const r = await h.request("POST", "/api/v1/namespaces", { body: { metadata: { name: ns } } });
  assert.equal(r.status, 201, r.text);
  return ns;
}

/** A quota whose status the controller has "counted": used defaults to zero for each hard name. */
async function quota(
  ns: string,
  name: string,
  hard: Record<string, string>,
  used?: Record<string, string>,
  spec: Record<string, unknown> = {},
): Promise<void> {
  const created = await h.request("POST", `/api/v1/namespaces/${ns}/resourcequotas`, {
    body: { metadata: { name }, spec: { hard, ...spec } },
  });
  assert.equal(created.status, 201, created.text);
  const status = {
    hard,
    used: used ?? Object.fromEntries(Object.keys(hard).map((k) => [k, "0"])),
  };
  const r = await h.request("PUT", `/api/v1/namespaces/${ns}/resourcequotas/${name}/status`, {
    body: { ...created.body, status },
  });
  assert.equal(r.status, 200, r.text);
}

async function used(ns: string, name: string): Promise<Record<string, string>> {
  return (await h.request("GET", `/api/v1/namespaces/${ns}/resourcequotas/${name}`)).body.status.used;
}

function pod(name: string, resources?: Record<string, Record<string, string>>, extra = {}) {
  return {
    metadata: { name },
    spec: { containers: [{ name: "app", image: "nginx", ...(resources ? { resources } : {}) }], ...extra },
  };
}

const createPod = (ns: string, body: unknown, query = "") =>
  h.request("POST", `/api/v1/namespaces/${ns}/pods${query}`, { body });

describe("ResourceQuota admission", () => {
  test("pods: the create past the limit is a 403 with upstream's message; used is charged", async () => {
    const ns = await namespace();
    await quota(ns, "q", { pods: "2" });
    assert.equal((await createPod(ns, pod("a"))).status, 201);
    assert.deepEqual(await used(ns, "q"), { pods: "1" });
    assert.equal((await createPod(ns, pod("b"))).status, 201);
    const r = await createPod(ns, pod("c"));
    assert.equal(r.status, 403);
    assert.equal(r.body.reason, "Forbidden");
    assert.equal(
      r.body.message,
      'pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2',
    );
    assert.deepEqual(await used(ns, "q"), { pods: "2" });
    assert.equal((await h.request("GET", `/api/v1/namespaces/${ns}/pods/c`)).status, 404);
  });

  test("requests and limits: missing ones are refused per container, excess is reported", async () => {
    const ns = await namespace();
    await quota(ns, "compute", {
      "requests.cpu": "1",
      "requests.memory": "1Gi",
      "limits.cpu": "2",
      "limits.memory": "2Gi",
    });
    const bare = await createPod(ns, pod("bare"));
    assert.equal(bare.status, 403);
    assert.equal(
      bare.body.message,
      'pods "bare" is forbidden: failed quota: compute: must specify limits.cpu for: app; ' +
        "must specify limits.memory for: app; must specify requests.cpu for: app; " +
        "must specify requests.memory for: app",
    );
    const sized = { requests: { cpu: "600m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } };
    assert.equal((await createPod(ns, pod("one", sized))).status, 201);
    assert.deepEqual(await used(ns, "compute"), {
      "requests.cpu": "600m",
      "requests.memory": "512Mi",
      "limits.cpu": "1",
      "limits.memory": "1Gi",
    });
    const r = await createPod(ns, pod("two", sized));
    assert.equal(r.status, 403);
    assert.equal(
      r.body.message,
      'pods "two" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, ' +
        "used: requests.cpu=600m, limited: requests.cpu=1",
    );
    // Limits alone are enough: requests default to them.
    const limitsOnly = { limits: { cpu: "300m", memory: "256Mi" } };
    assert.equal((await createPod(ns, pod("three", limitsOnly))).status, 201);
    assert.equal((await used(ns, "compute"))["requests.cpu"], "900m");
  });

  test("object counts: services, configmaps, secrets and count/<resource>.<group>", async () => {
    const ns = await namespace();
    await quota(ns, "objects", {
      services: "1",
      configmaps: "1",
      secrets: "1",
      "count/deployments.apps": "1",
    });
    const post = (path: string, body: unknown) => h.request("POST", `/api${path}`, { body });
    const svc = (name: string) => ({ metadata: { name }, spec: { ports: [{ port: 80 }] } });
    const cm = (name: string) => ({ metadata: { name }, data: { a: "b" } });
    const deploy = (name: string) => ({
      metadata: { name },
      spec: {
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "i" }] } },
      },
    });
    assert.equal((await post(`/v1/namespaces/${ns}/services`, svc("s1"))).status, 201);
    assert.equal((await post(`/v1/namespaces/${ns}/configmaps`, cm("c1"))).status, 201);
    assert.equal((await post(`/v1/namespaces/${ns}/secrets`, cm("x1"))).status, 201);
    assert.equal(
      (await h.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deploy("d1") })).status,
      201,
    );
    const s2 = await post(`/v1/namespaces/${ns}/services`, svc("s2"));
    assert.equal(s2.status, 403);
    assert.match(
      s2.body.message,
      /^services "s2" is forbidden: exceeded quota: objects, requested: services=1, used: services=1, limited: services=1$/,
    );
    const c2 = await post(`/v1/namespaces/${ns}/configmaps`, cm("c2"));
    assert.match(
      c2.body.message,
      /exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1/,
    );
    assert.equal((await post(`/v1/namespaces/${ns}/secrets`, cm("x2"))).status, 403);
    const d2 = await h.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deploy("d2") });
    assert.equal(d2.status, 403);
    assert.match(
      d2.body.message,
      /^deployments.apps "d2" is forbidden: exceeded quota: objects, requested: count\/deployments.apps=1, used: count\/deployments.apps=1, limited: count\/deployments.apps=1$/,
    );
    // Pods are not limited by this quota.
    assert.equal((await createPod(ns, pod("free"))).status, 201);
  });

  test("a quota the controller has not counted: allowed before status.hard, refused while used is unknown", async () => {
    const ns = await namespace();
    const created = await h.request("POST", `/api/v1/namespaces/${ns}/resourcequotas`, {
      body: { metadata: { name: "fresh" }, spec: { hard: { pods: "1" } } },
    });
    assert.equal(created.status, 201);
    assert.equal((await createPod(ns, pod("early"))).status, 201);
    const r = await h.request("PUT", `/api/v1/namespaces/${ns}/resourcequotas/fresh/status`, {
      body: { ...created.body, status: { hard: { pods: "1" } } },
    });
    assert.equal(r.status, 200, r.text);
    const refused = await createPod(ns, pod("late"));
    assert.equal(refused.status, 403);
    assert.equal(
      refused.body.message,
      'pods "late" is forbidden: status unknown for quota: fresh, resources: pods',
    );
  });

  test("parallel creates never both take the last slot (compare-and-swap on the quota)", async () => {
    const ns = await namespace();
    await quota(ns, "q", { pods: "3" });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => createPod(ns, pod(`p${i}`))));
    const codes = results.map((r) => r.status);
    assert.equal(codes.filter((c) => c === 201).length, 3, String(codes));
    assert.equal(codes.filter((c) => c === 403).length, 9, String(codes));
    assert.deepEqual(await used(ns, "q"), { pods: "3" });
    const pods = await h.request("GET", `/api/v1/namespaces/${ns}/pods`);
    assert.equal(pods.body.items.length, 3);
  });

  test("dryRun is checked but not charged; a failed create gives its charge back", async () => {
    const ns = await namespace();
    await quota(ns, "q", { pods: "1" });
    assert.equal((await createPod(ns, pod("dry"), "?dryRun=All")).status, 201);
    assert.deepEqual(await used(ns, "q"), { pods: "0" });
    assert.equal((await createPod(ns, pod("real"))).status, 201);
    const dry = await createPod(ns, pod("dry2"), "?dryRun=All");
    assert.equal(dry.status, 403);
    const q2 = await namespace();
    await quota(q2, "q", { pods: "2" });
    assert.equal((await createPod(q2, pod("same"))).status, 201);
    const again = await createPod(q2, pod("same"));
    assert.equal(again.status, 409);
    assert.deepEqual(await used(q2, "q"), { pods: "1" });
  });

  test("scoped quotas count only the pods their scopes select", async () => {
    const ns = await namespace();
    await quota(ns, "besteffort", { pods: "1" }, undefined, { scopes: ["BestEffort"] });
    const sized = { requests: { cpu: "100m" }, limits: { cpu: "100m" } };
    assert.equal((await createPod(ns, pod("be1"))).status, 201);
    assert.equal((await createPod(ns, pod("sized1", sized))).status, 201);
    assert.equal((await createPod(ns, pod("sized2", sized))).status, 201);
    const r = await createPod(ns, pod("be2"));
    assert.equal(r.status, 403);
    assert.match(r.body.message, /exceeded quota: besteffort/);
  });
});
