// Request errors over real HTTP, as exact Status bodies: unknown paths, media types, malformed and
// oversized bodies, Accept negotiation, authorization denials and unsupported methods.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { builtinRegistry } from "../../src/apiserver/resources/index.js";
import { createRestHandler } from "../../src/apiserver/rest/index.js";
import { type RestHarness, startRest } from "./rest-harness.js";

let h: RestHarness;
before(async () => {
  h = await startRest();
  const r = await h.request("POST", "/api/v1/namespaces/default/configmaps", { body: cm("a") });
  assert.equal(r.status, 201, r.text);
});
after(async () => {
  await h?.stop();
});

const cm = (name: string, data: Record<string, string> = { k: "v" }) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name },
  data,
});

describe("request errors", () => {
  test("unknown resources are 404 with upstream's message; other paths are not ours", async () => {
    for (const path of [
      "/api/v1/namespaces/default/widgets",
      "/apis/nope.io/v1/things",
      "/api/v1/pods/x/y/z/w",
    ]) {
      const r = await h.request("GET", path);
      assert.equal(r.status, 404, path);
      assert.deepEqual(r.body, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "the server could not find the requested resource",
        reason: "NotFound",
        details: {},
        code: 404,
      });
    }
    assert.equal((await h.request("GET", "/api/v1")).status, 418);
    assert.equal((await h.request("GET", "/healthz")).status, 418);
  });

  test("protobuf bodies: malformed is 400, kinds kite cannot decode are 415 saying so", async () => {
    const malformed = await h.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: Buffer.from([0x6b, 0x38, 0x73, 0x00, 1, 2]),
      contentType: "application/vnd.kubernetes.protobuf",
    });
    assert.equal(malformed.status, 400);
    assert.match(malformed.body.message, /unable to decode the protobuf body/);
    // runtime.Unknown{typeMeta: {apiVersion: "v1", kind: "Pod"}}
    const typeMeta = [0x0a, 0x02, ...Buffer.from("v1"), 0x12, 0x03, ...Buffer.from("Pod")];
    const r = await h.request("POST", "/api/v1/namespaces/default/pods", {
      body: Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, typeMeta.length, ...typeMeta]),
      contentType: "application/vnd.kubernetes.protobuf",
    });
    assert.equal(r.status, 415);
    assert.equal(r.body.reason, "UnsupportedMediaType");
    assert.match(r.body.message, /protobuf.*v1\/Pod must be sent as application\/json/);
  });

  test("malformed JSON and YAML are 400", async () => {
    const j = await h.request("POST", "/api/v1/namespaces/default/configmaps", { body: "{not json" });
    assert.equal(j.status, 400);
    assert.equal(j.body.reason, "BadRequest");
    assert.match(j.body.message, /json parse error/);
    const y = await h.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: "a: [1, 2\nb: c: d",
      contentType: "application/yaml",
    });
    assert.equal(y.status, 400);
    assert.match(y.body.message, /^error converting YAML to JSON/);
    const arr = await h.request("POST", "/api/v1/namespaces/default/configmaps", { body: "[]" });
    assert.equal(arr.status, 400);
    for (const [body, contentType] of [
      [`${"[".repeat(5000)}${"]".repeat(5000)}`, "application/yaml"],
      [`a: ${"[".repeat(5000)}`, "application/yaml"],
      [`${"- ".repeat(3000)}x`, "application/yaml"],
      [`${"[".repeat(100000)}${"]".repeat(100000)}`, "application/json"],
    ]) {
      const deep = await h.request("POST", "/api/v1/namespaces/default/configmaps", { body, contentType });
      assert.equal(deep.status, 400, `${contentType} ${body.slice(0, 20)}: ${deep.text}`);
    }
  });

  test("bodies over 3 MiB are 413", async () => {
    const big = cm("big", { k: "x".repeat(3 * 1024 * 1024) });
    const r = await h.request("POST", "/api/v1/namespaces/default/configmaps", { body: big });
    assert.equal(r.status, 413);
    assert.equal(r.body.reason, "RequestEntityTooLarge");
    assert.equal(r.body.message, "Request entity too large: limit is 3145728");
  });

  test("protobuf-only Accept is 406; Accept with json is served", async () => {
    const r = await h.request("GET", "/api/v1/namespaces/default/configmaps/a", {
      accept: "application/vnd.kubernetes.protobuf",
    });
    assert.equal(r.status, 406);
    assert.equal(r.body.reason, "NotAcceptable");
    const ok = await h.request("GET", "/api/v1/namespaces/default/configmaps/a", {
      accept: "application/vnd.kubernetes.protobuf,application/json",
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.kind, "ConfigMap");
  });

  test("a denied request is 403 with upstream's wording", async () => {
    const handler = createRestHandler({
      store: h.store,
      registry: builtinRegistry(),
      authorizer: { authorize: async () => ({ allowed: false, reason: "RBAC is not there yet" }) },
    });
    const server = createServer((req, res) => void handler(req, res, { username: "jane", groups: [] }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const res = await fetch(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/namespaces/default/configmaps`,
      );
      assert.equal(res.status, 403);
      const body = (await res.json()) as { reason: string; message: string };
      assert.equal(body.reason, "Forbidden");
      assert.equal(
        body.message,
        'configmaps is forbidden: User "jane" cannot list resource "configmaps" in API group "" in the namespace "default": RBAC is not there yet',
      );
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test("unsupported methods are 405", async () => {
    const r = await h.request("POST", "/api/v1/namespaces/default/configmaps/a", { body: cm("a") });
    assert.equal(r.status, 405);
    assert.equal(r.body.reason, "MethodNotAllowed");
    const dc = await h.request("DELETE", "/api/v1/namespaces");
    assert.equal(dc.status, 405);
    const allNamespaces = await h.request("POST", "/api/v1/configmaps", { body: cm("x") });
    assert.equal(allNamespaces.status, 405);
  });
});
