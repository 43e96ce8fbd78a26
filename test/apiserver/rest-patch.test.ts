// PATCH over real HTTP: JSON patch, merge patch, strategic merge (containers by name, kubectl's
// client-side apply with its last-applied annotation) and server-side apply with conflicts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { deployment, type RestHarness, startRest } from "./rest-harness.js";

let h: RestHarness;
before(async () => {
  h = await startRest();
});
after(async () => {
  await h?.stop();
});

const deployPath = "/apis/apps/v1/namespaces/default/deployments";
const patch = (path: string, body: unknown, contentType: string) =>
  h.request("PATCH", path, { body: typeof body === "string" ? body : JSON.stringify(body), contentType });

describe("json and merge patches", () => {
  test("merge patch adds and removes labels", async () => {
    const c = await h.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "m", labels: { a: "1", b: "2" } }, data: { k: "v" } },
    });
    assert.equal(c.status, 201, c.text);
    const r = await patch(
      "/api/v1/namespaces/default/configmaps/m",
      { metadata: { labels: { a: null, c: "3" } } },
      "application/merge-patch+json",
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.metadata.labels, { b: "2", c: "3" });
    assert.ok(Number(r.body.metadata.resourceVersion) > Number(c.body.metadata.resourceVersion));
  });

  test("JSON patch applies operations; a failing test op is 422; a non-array is 400", async () => {
    const r = await patch(
      "/api/v1/namespaces/default/configmaps/m",
      [
        { op: "add", path: "/data/n", value: "1" },
        { op: "replace", path: "/data/k", value: "w" },
      ],
      "application/json-patch+json",
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.data, { k: "w", n: "1" });
    const failing = await patch(
      "/api/v1/namespaces/default/configmaps/m",
      [{ op: "test", path: "/data/k", value: "zzz" }],
      "application/json-patch+json",
    );
    assert.equal(failing.status, 422);
    assert.equal(failing.body.reason, "Invalid");
    const notArray = await patch(
      "/api/v1/namespaces/default/configmaps/m",
      { op: "add" },
      "application/json-patch+json",
    );
    assert.equal(notArray.status, 400);
  });

  test("a patch that changes the name is 400; a stale resourceVersion in the patch is 409", async () => {
    const rename = await patch(
      "/api/v1/namespaces/default/configmaps/m",
      { metadata: { name: "other" } },
      "application/merge-patch+json",
    );
    assert.equal(rename.status, 400);
    assert.equal(
      rename.body.message,
      "the name of the object (other) does not match the name on the URL (m)",
    );
    const stale = await patch(
      "/api/v1/namespaces/default/configmaps/m",
      { metadata: { resourceVersion: "1" }, data: { z: "1" } },
      "application/merge-patch+json",
    );
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, "Conflict");
  });

  test("missing objects are 404; unknown patch types and force without apply are rejected", async () => {
    const missing = await patch(
      "/api/v1/namespaces/default/configmaps/ghost",
      { data: {} },
      "application/merge-patch+json",
    );
    assert.equal(missing.status, 404);
    const unknown = await patch("/api/v1/namespaces/default/configmaps/m", { data: {} }, "text/plain");
    assert.equal(unknown.status, 415);
    assert.equal(
      unknown.body.message,
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml",
    );
    const force = await patch(
      "/api/v1/namespaces/default/configmaps/m?force=true",
      { data: {} },
      "application/merge-patch+json",
    );
    assert.equal(force.status, 422);
    assert.equal(
      force.body.message,
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    );
  });

  test("strategic merge is 415 for kinds without merge metadata", async () => {
    const role = await h.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", {
      body: { metadata: { name: "r" }, rules: [] },
    });
    assert.equal(role.status, 201, role.text);
    const r = await patch(
      "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/r",
      { rules: [] },
      "application/strategic-merge-patch+json",
    );
    assert.equal(r.status, 415);
    assert.match(
      r.body.message,
      /accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml$/,
    );
  });
});

describe("strategic merge patch", () => {
  test("containers merge by name", async () => {
    const d = deployment("smp");
    (d.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers.push({
      name: "side",
      image: "busybox",
    });
    assert.equal((await h.request("POST", deployPath, { body: d })).status, 201);
    const r = await patch(
      `${deployPath}/smp`,
      { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:1.28" }] } } } },
      "application/strategic-merge-patch+json",
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.body.spec.template.spec.containers.map((c: { name: string; image: string }) => [c.name, c.image]),
      [
        ["web", "nginx:1.28"],
        ["side", "busybox"],
      ],
    );
    assert.equal(r.body.metadata.generation, 2);
    const del = await patch(
      `${deployPath}/smp`,
      { spec: { template: { spec: { containers: [{ name: "side", $patch: "delete" }] } } } },
      "application/strategic-merge-patch+json",
    );
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(
      del.body.spec.template.spec.containers.map((c: { name: string }) => c.name),
      ["web"],
    );
  });

  test("kubectl's client-side apply: create with last-applied, then a three-way strategic patch", async () => {
    const applied1 = deployment("csa", 1);
    (applied1.metadata as Record<string, unknown>).labels = { team: "a", old: "x" };
    const annotated = (cfg: Record<string, unknown>) => ({
      ...cfg,
      metadata: {
        ...(cfg.metadata as object),
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": `${JSON.stringify(cfg)}\n` },
      },
    });
    const c = await h.request(
      "POST",
      `${deployPath}?fieldManager=kubectl-client-side-apply&fieldValidation=Strict`,
      {
        body: annotated(applied1),
      },
    );
    assert.equal(c.status, 201, c.text);
    const applied2 = deployment("csa", 3);
    (applied2.metadata as Record<string, unknown>).labels = { team: "b" };
    // What kubectl computes: the changes from last-applied to the new config, with the new annotation.
    const smp = {
      metadata: {
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": `${JSON.stringify(applied2)}\n` },
        labels: { old: null, team: "b" },
      },
      spec: { replicas: 3 },
    };
    const p = await patch(
      `${deployPath}/csa?fieldManager=kubectl-client-side-apply&fieldValidation=Strict`,
      smp,
      "application/strategic-merge-patch+json",
    );
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.body.metadata.labels, { team: "b" });
    assert.equal(p.body.spec.replicas, 3);
    assert.equal(
      JSON.parse(p.body.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]).spec
        .replicas,
      3,
    );
    assert.ok(
      p.body.metadata.managedFields.some(
        (m: { manager: string }) => m.manager === "kubectl-client-side-apply",
      ),
    );
  });
});

describe("server-side apply", () => {
  const cfg = (replicas: number, labels: Record<string, string> = {}) => ({
    ...deployment("ssa", replicas),
    metadata: { name: "ssa", labels },
  });

  test("fieldManager is required", async () => {
    const r = await patch(`${deployPath}/ssa`, cfg(1), "application/apply-patch+yaml");
    assert.equal(r.status, 422);
    assert.equal(
      r.body.message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
  });

  test("apply creates, updates, conflicts with another manager, and force takes over", async () => {
    h.records.length = 0;
    const created = await patch(
      `${deployPath}/ssa?fieldManager=kubectl&force=false`,
      cfg(1, { a: "1" }),
      "application/apply-patch+yaml",
    );
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.metadata.managedFields[0].manager, "kubectl");
    assert.equal(created.body.metadata.managedFields[0].operation, "Apply");
    assert.equal(h.records[0]?.verb, "APPLY");
    const yaml =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ssa\n  labels:\n    a: "2"\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: ssa\n  template:\n    metadata:\n      labels:\n        app: ssa\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n';
    const updated = await patch(
      `${deployPath}/ssa?fieldManager=kubectl`,
      yaml,
      "application/apply-patch+yaml",
    );
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.body.spec.replicas, 2);
    assert.deepEqual(updated.body.metadata.labels, { a: "2" });
    const other = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "ssa" },
      spec: { replicas: 5 },
    };
    const conflicted = await patch(
      `${deployPath}/ssa?fieldManager=hpa`,
      other,
      "application/apply-patch+yaml",
    );
    assert.equal(conflicted.status, 409, conflicted.text);
    assert.equal(conflicted.body.reason, "Conflict");
    assert.equal(
      conflicted.body.message,
      'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas',
    );
    assert.equal(h.records.at(-1)?.verb, "APPLY");
    assert.equal(h.records.at(-1)?.code, 409);
    assert.deepEqual(conflicted.body.details.causes, [
      { reason: "FieldManagerConflict", message: 'conflict with "kubectl"', field: ".spec.replicas" },
    ]);
    const forced = await patch(
      `${deployPath}/ssa?fieldManager=hpa&force=true`,
      other,
      "application/apply-patch+yaml",
    );
    assert.equal(forced.status, 200, forced.text);
    assert.equal(forced.body.spec.replicas, 5);
    const managers = forced.body.metadata.managedFields.map((m: { manager: string }) => m.manager).sort();
    assert.deepEqual(managers, ["hpa", "kubectl"]);
  });

  test("apply with dryRun stores nothing", async () => {
    const r = await patch(
      `${deployPath}/ssa-dry?fieldManager=kubectl&dryRun=All`,
      { ...cfg(1), metadata: { name: "ssa-dry" } },
      "application/apply-patch+yaml",
    );
    assert.equal(r.status, 201, r.text);
    assert.equal((await h.request("GET", `${deployPath}/ssa-dry`)).status, 404);
  });
});
