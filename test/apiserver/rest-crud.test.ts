// The REST handlers over real HTTP with the real store and registry: CRUD, content negotiation,
// list selectors and pagination, Tables, status and scale subresources, the metrics hook.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { deployment, type RestHarness, startRest } from "./rest-harness.js";

let h: RestHarness;
before(async () => {
  h = await startRest({ now: () => new Date("2026-01-02T03:04:05.678Z") });
});
after(async () => {
  await h?.stop();
});

const cm = (name: string, data: Record<string, string> = { k: "v" }, labels?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

describe("create, get, update", () => {
  test("a configmap round-trips with server-set metadata", async () => {
    const r = await h.request("POST", "/api/v1/namespaces/default/configmaps?fieldManager=tester", {
      body: cm("a"),
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.body.kind, "ConfigMap");
    assert.equal(r.body.apiVersion, "v1");
    assert.equal(r.body.metadata.namespace, "default");
    assert.match(r.body.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.equal(r.body.metadata.creationTimestamp, "2026-01-02T03:04:05Z");
    assert.match(r.body.metadata.resourceVersion, /^\d+$/);
    assert.equal(r.body.metadata.managedFields[0].manager, "tester");
    assert.equal(r.body.metadata.managedFields[0].operation, "Update");
    const g = await h.request("GET", "/api/v1/namespaces/default/configmaps/a");
    assert.equal(g.status, 200);
    assert.deepEqual(g.body, r.body);
  });

  test("YAML bodies are accepted", async () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  x: "1"\n';
    const r = await h.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: yaml,
      contentType: "application/yaml",
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.data, { x: "1" });
  });

  test("generateName adds five random characters", async () => {
    const r = await h.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { generateName: "gen-" }, data: {} },
    });
    assert.equal(r.status, 201, r.text);
    assert.match(r.body.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  test("AlreadyExists is a 409 with upstream's Status", async () => {
    const r = await h.request("POST", "/api/v1/namespaces/default/configmaps", { body: cm("a") });
    assert.equal(r.status, 409);
    assert.deepEqual(r.body, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'configmaps "a" already exists',
      reason: "AlreadyExists",
      details: { name: "a", kind: "configmaps" },
      code: 409,
    });
  });

  test("a stale resourceVersion on update is a 409 Conflict; the current one updates", async () => {
    const cur = (await h.request("GET", "/api/v1/namespaces/default/configmaps/a")).body;
    const ok = await h.request("PUT", "/api/v1/namespaces/default/configmaps/a", {
      body: { ...cur, data: { k: "v2" } },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.data.k, "v2");
    assert.ok(Number(ok.body.metadata.resourceVersion) > Number(cur.metadata.resourceVersion));
    assert.equal(ok.body.metadata.uid, cur.metadata.uid);
    const stale = await h.request("PUT", "/api/v1/namespaces/default/configmaps/a", {
      body: { ...cur, data: { k: "v3" } },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, "Conflict");
    assert.equal(
      stale.body.message,
      'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again',
    );
    const noRv = { ...cur, metadata: { ...cur.metadata, resourceVersion: undefined }, data: { k: "v4" } };
    const unconditional = await h.request("PUT", "/api/v1/namespaces/default/configmaps/a", { body: noRv });
    assert.equal(unconditional.status, 200, unconditional.text);
    assert.equal(unconditional.body.data.k, "v4");
  });

  test("update of a missing object is 404 and a renamed body is 400", async () => {
    const missing = await h.request("PUT", "/api/v1/namespaces/default/configmaps/nope", {
      body: cm("nope"),
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'configmaps "nope" not found');
    const renamed = await h.request("PUT", "/api/v1/namespaces/default/configmaps/a", { body: cm("b") });
    assert.equal(renamed.status, 400);
    assert.equal(renamed.body.message, "the name of the object (b) does not match the name on the URL (a)");
  });

  test("invalid objects are 422 with field causes", async () => {
    const r = await h.request("POST", "/api/v1/namespaces/default/configmaps", { body: cm("Bad_Name") });
    assert.equal(r.status, 422);
    assert.equal(r.body.reason, "Invalid");
    assert.match(
      r.body.message,
      /^ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    assert.equal(r.body.details.causes[0].field, "metadata.name");
    assert.equal(r.body.details.causes[0].reason, "FieldValueInvalid");
    const noName = await h.request("POST", "/api/v1/namespaces/default/configmaps", { body: { data: {} } });
    assert.equal(noName.status, 422);
    assert.match(noName.body.message, /metadata\.name: Required value: name or generateName is required/);
  });

  test("namespace rules on create", async () => {
    const mismatch = await h.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: { ...cm("x"), metadata: { name: "x", namespace: "other" } },
    });
    assert.equal(mismatch.status, 400);
    assert.equal(
      mismatch.body.message,
      "the namespace of the provided object does not match the namespace sent on the request",
    );
    const missing = await h.request("POST", "/api/v1/namespaces/ghost/configmaps", { body: cm("x") });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'namespaces "ghost" not found');
  });

  test("the wrong apiVersion or kind is a 400", async () => {
    const r = await h.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: { ...cm("x"), apiVersion: "apps/v1" },
    });
    assert.equal(r.status, 400);
    assert.equal(
      r.body.message,
      "the API version in the data (apps/v1) does not match the expected API version (v1)",
    );
    const k = await h.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: { ...cm("x"), kind: "Secret" },
    });
    assert.equal(k.status, 400);
  });

  test("dryRun=All validates without storing", async () => {
    const r = await h.request("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", {
      body: cm("dry"),
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.metadata.name, "dry");
    assert.equal((await h.request("GET", "/api/v1/namespaces/default/configmaps/dry")).status, 404);
    const bad = await h.request("POST", "/api/v1/namespaces/default/configmaps?dryRun=Some", {
      body: cm("dry"),
    });
    assert.equal(bad.status, 422);
    assert.equal(
      bad.body.message,
      'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "Some": supported values: "All"',
    );
  });
});

describe("list", () => {
  test("label and field selectors, limit and continue", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await h.request("POST", "/api/v1/namespaces/kube-public/configmaps", {
        body: cm(`l${i}`, { i: String(i) }, { tier: i % 2 === 0 ? "even" : "odd" }),
      });
      assert.equal(r.status, 201, r.text);
    }
    const all = await h.request("GET", "/api/v1/namespaces/kube-public/configmaps");
    assert.equal(all.body.kind, "ConfigMapList");
    assert.equal(all.body.apiVersion, "v1");
    assert.equal(all.body.items.length, 5);
    assert.equal(all.body.items[0].kind, "ConfigMap");
    assert.match(all.body.metadata.resourceVersion, /^\d+$/);
    const even = await h.request(
      "GET",
      "/api/v1/namespaces/kube-public/configmaps?labelSelector=tier%3Deven",
    );
    assert.deepEqual(
      even.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["l0", "l2", "l4"],
    );
    const setBased = await h.request(
      "GET",
      "/api/v1/namespaces/kube-public/configmaps?labelSelector=tier+in+(odd)",
    );
    assert.deepEqual(
      setBased.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["l1", "l3"],
    );
    const byName = await h.request("GET", "/api/v1/configmaps?fieldSelector=metadata.name%3Dl3");
    assert.equal(byName.body.items.length, 1);
    assert.equal(byName.body.items[0].metadata.namespace, "kube-public");
    const names: string[] = [];
    let cont = "";
    let pages = 0;
    do {
      const page = await h.request(
        "GET",
        `/api/v1/namespaces/kube-public/configmaps?limit=2${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`,
      );
      assert.equal(page.status, 200, page.text);
      names.push(...page.body.items.map((i: { metadata: { name: string } }) => i.metadata.name));
      cont = page.body.metadata.continue ?? "";
      if (cont) assert.ok(page.body.metadata.remainingItemCount > 0);
      pages++;
    } while (cont);
    assert.equal(pages, 3);
    assert.deepEqual(names, ["l0", "l1", "l2", "l3", "l4"]);
  });

  test("bad selectors and list options are rejected", async () => {
    const badLabel = await h.request("GET", "/api/v1/configmaps?labelSelector=a%20in%20");
    assert.equal(badLabel.status, 400);
    const badField = await h.request("GET", "/api/v1/configmaps?fieldSelector=spec.nodeName%3Dx");
    assert.equal(badField.status, 400);
    assert.match(badField.body.message, /spec\.nodeName/);
    const podsField = await h.request(
      "GET",
      "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1,status.phase!%3DFailed",
    );
    assert.equal(podsField.status, 200, podsField.text);
    const match = await h.request("GET", "/api/v1/configmaps?resourceVersionMatch=Exact");
    assert.equal(match.status, 422);
    assert.equal(
      match.body.message,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
  });

  test("Tables: default columns, includeObject, PartialObjectMetadataList", async () => {
    const accept =
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    const t = await h.request("GET", "/api/v1/namespaces/kube-public/configmaps?limit=500", { accept });
    assert.equal(t.status, 200, t.text);
    assert.equal(t.body.kind, "Table");
    assert.equal(t.body.apiVersion, "meta.k8s.io/v1");
    assert.deepEqual(t.body.columnDefinitions.map((c: { name: string }) => c.name).slice(0, 1), ["Name"]);
    assert.equal(t.body.rows.length, 5);
    assert.equal(t.body.rows[0].cells[0], "l0");
    assert.equal(t.body.rows[0].object.kind, "PartialObjectMetadata");
    assert.equal(t.body.rows[0].object.metadata.name, "l0");
    assert.match(t.body.metadata.resourceVersion, /^\d+$/);
    const full = await h.request("GET", "/api/v1/namespaces/kube-public/configmaps/l1?includeObject=Object", {
      accept,
    });
    assert.equal(full.body.rows[0].object.kind, "ConfigMap");
    assert.deepEqual(full.body.rows[0].object.data, { i: "1" });
    const none = await h.request("GET", "/api/v1/namespaces/kube-public/configmaps/l1?includeObject=None", {
      accept,
    });
    assert.equal(none.body.rows[0].object, null);
    const ns = await h.request("GET", "/api/v1/namespaces/default", { accept });
    assert.deepEqual(
      ns.body.columnDefinitions.map((c: { name: string }) => c.name),
      ["Name", "Status", "Age"],
    );
    assert.deepEqual(ns.body.rows[0].cells.slice(0, 2), ["default", "Active"]);
    const pom = await h.request("GET", "/api/v1/namespaces/kube-public/configmaps", {
      accept: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
    });
    assert.equal(pom.body.kind, "PartialObjectMetadataList");
    assert.equal(pom.body.items.length, 5);
    assert.equal(pom.body.items[0].data, undefined);
  });

  test("YAML output when asked for", async () => {
    const r = await h.request("GET", "/api/v1/namespaces/default/configmaps/a", {
      accept: "application/yaml",
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/yaml");
    assert.match(r.text, /^kind: ConfigMap\napiVersion: v1\n/);
  });
});

describe("subresources", () => {
  test("status: PUT and PATCH change only status; main updates keep it", async () => {
    const d = await h.request("POST", "/apis/apps/v1/namespaces/default/deployments", {
      body: deployment("web", 2),
    });
    assert.equal(d.status, 201, d.text);
    assert.equal(d.body.metadata.generation, 1);
    const withStatus = {
      ...d.body,
      spec: { ...d.body.spec, replicas: 9 },
      status: { replicas: 2, observedGeneration: 1 },
    };
    const s = await h.request("PUT", "/apis/apps/v1/namespaces/default/deployments/web/status", {
      body: withStatus,
    });
    assert.equal(s.status, 200, s.text);
    assert.equal(s.body.status.replicas, 2);
    assert.equal(s.body.spec.replicas, 2, "status writes leave spec alone");
    const p = await h.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/status", {
      body: { status: { readyReplicas: 1 }, spec: { replicas: 5 } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.status.readyReplicas, 1);
    assert.equal(p.body.spec.replicas, 2);
    const main = await h.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", {
      body: { status: { replicas: 100 }, spec: { replicas: 3 } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(main.status, 200, main.text);
    assert.equal(main.body.status.replicas, 2, "main writes leave status alone");
    assert.equal(main.body.spec.replicas, 3);
    assert.equal(main.body.metadata.generation, 2);
  });

  test("scale: GET, PUT and PATCH of autoscaling/v1 Scale", async () => {
    const g = await h.request("GET", "/apis/apps/v1/namespaces/default/deployments/web/scale");
    assert.equal(g.status, 200, g.text);
    assert.equal(g.body.kind, "Scale");
    assert.equal(g.body.apiVersion, "autoscaling/v1");
    assert.deepEqual(g.body.spec, { replicas: 3 });
    assert.deepEqual(g.body.status, { replicas: 2, selector: "app=web" });
    const p = await h.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", {
      body: { spec: { replicas: 7 } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.spec.replicas, 7);
    const d = await h.request("GET", "/apis/apps/v1/namespaces/default/deployments/web");
    assert.equal(d.body.spec.replicas, 7);
    assert.equal(d.body.metadata.generation, 3);
    const put = await h.request("PUT", "/apis/apps/v1/namespaces/default/deployments/web/scale", {
      body: { ...g.body, spec: { replicas: 1 } },
    });
    assert.equal(put.status, 409, "the GET's resourceVersion is stale");
    const neg = await h.request("PUT", "/apis/apps/v1/namespaces/default/deployments/web/scale", {
      body: {
        kind: "Scale",
        apiVersion: "autoscaling/v1",
        metadata: { name: "web" },
        spec: { replicas: -1 },
      },
    });
    assert.equal(neg.status, 422);
    assert.equal(
      neg.body.message,
      'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    );
    const none = await h.request("GET", "/api/v1/namespaces/default/configmaps/a/scale");
    assert.equal(none.status, 404);
  });

  test("the metrics hook sees verb, resource, scope and code", async () => {
    h.records.length = 0;
    await h.request("GET", "/apis/apps/v1/namespaces/default/deployments/web/scale");
    await h.request("GET", "/api/v1/configmaps");
    await h.request("DELETE", "/api/v1/namespaces/default/configmaps/nope");
    const seen = h.records.map((r) => [r.verb, r.group, r.resource, r.subresource, r.scope, r.code]);
    assert.deepEqual(seen, [
      ["GET", "apps", "deployments", "scale", "resource", 200],
      ["LIST", "", "configmaps", "", "cluster", 200],
      ["DELETE", "", "configmaps", "", "resource", 404],
    ]);
    assert.ok(h.records.every((r) => r.durationSeconds >= 0 && r.durationSeconds < 10));
  });
});
