// Pure parts of the REST handlers: path routing, Accept negotiation and the default Table.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asTable, negotiate } from "../../src/apiserver/rest/respond.js";
import { parseResourcePath } from "../../src/apiserver/rest/route.js";
import type { ResourceDef } from "../../src/apiserver/types.js";

const def = (
  group: string,
  resource: string,
  namespaced: boolean,
  subresources: string[] = [],
): ResourceDef => ({
  group,
  version: "v1",
  kind: resource[0]!.toUpperCase() + resource.slice(1, -1),
  listKind: `${resource}List`,
  resource,
  singular: resource.slice(0, -1),
  namespaced,
  shortNames: [],
  categories: [],
  verbs: ["get", "list"],
  subresources,
});
const defs = [
  def("", "pods", true, ["status", "log"]),
  def("", "namespaces", false),
  def("example.io", "widgets", false),
];
const registry = {
  lookup: (g: string, v: string, r: string) =>
    defs.find((d) => d.group === g && d.version === v && d.resource === r),
};
const parse = (path: string) => {
  const p = parseResourcePath(path, new URLSearchParams(), registry);
  if (!p?.request) return undefined;
  const { def: _d, query: _q, ...rest } = p.request;
  return { ...rest, watchPrefix: p.watchPrefix };
};

describe("routing", () => {
  test("resource paths", () => {
    assert.deepEqual(parse("/api/v1/namespaces/ns1/pods/p/log"), {
      group: "",
      version: "v1",
      namespace: "ns1",
      resource: "pods",
      name: "p",
      subresource: "log",
      watchPrefix: false,
    });
    assert.deepEqual(parse("/api/v1/pods"), {
      group: "",
      version: "v1",
      namespace: undefined,
      resource: "pods",
      name: undefined,
      subresource: undefined,
      watchPrefix: false,
    });
    assert.equal(parse("/api/v1/namespaces/ns1")?.name, "ns1");
    assert.equal(parse("/api/v1/namespaces/ns1")?.namespace, undefined);
    assert.equal(parse("/api/v1/namespaces/ns1/finalize")?.subresource, "finalize");
    assert.equal(parse("/api/v1/watch/namespaces/ns1/pods")?.watchPrefix, true);
    assert.equal(parse("/apis/example.io/v1/widgets/w")?.name, "w");
    assert.equal(parse("/api/v1/namespaces/a%2Fb/pods")?.namespace, "a/b");
  });

  test("paths that are not resource paths are not ours", () => {
    for (const p of [
      "/",
      "/api",
      "/api/v1",
      "/apis",
      "/apis/example.io",
      "/apis/example.io/v1",
      "/healthz",
      "/version",
    ])
      assert.equal(parseResourcePath(p, new URLSearchParams(), registry), undefined, p);
  });

  test("unknown resources, subresources and scopes are the 404 Status", () => {
    for (const p of [
      "/api/v1/widgets",
      "/api/v1/namespaces/ns1/pods/p/exec",
      "/api/v1/pods/p/status/extra",
      "/apis/example.io/v1/namespaces/ns1/widgets",
      "/api/v1/namespaces/%zz/pods",
    ]) {
      assert.throws(
        () => parseResourcePath(p, new URLSearchParams(), registry),
        (e: { status?: { code?: number; message?: string } }) =>
          e.status?.code === 404 && e.status.message === "the server could not find the requested resource",
        p,
      );
    }
  });
});

describe("negotiation", () => {
  test("JSON, YAML, Tables and 406", () => {
    assert.deepEqual(negotiate(undefined), { kind: "object", mediaType: "application/json" });
    assert.deepEqual(negotiate("*/*"), { kind: "object", mediaType: "application/json" });
    assert.deepEqual(negotiate("application/yaml"), { kind: "object", mediaType: "application/yaml" });
    assert.deepEqual(negotiate("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"), {
      kind: "Table",
      version: "v1",
    });
    assert.deepEqual(negotiate("application/json;as=Table;v=v1beta1;g=meta.k8s.io"), {
      kind: "Table",
      version: "v1beta1",
    });
    assert.deepEqual(negotiate("application/json;as=Table;v=v2;g=meta.k8s.io,application/json"), {
      kind: "object",
      mediaType: "application/json",
    });
    assert.deepEqual(negotiate("application/vnd.kubernetes.protobuf;q=1,application/json;q=0.5"), {
      kind: "object",
      mediaType: "application/json",
    });
    assert.throws(
      () => negotiate("application/vnd.kubernetes.protobuf"),
      (e: { status?: { code?: number } }) => e.status?.code === 406,
    );
    assert.throws(
      () => negotiate("text/html"),
      (e: { status?: { code?: number } }) => e.status?.code === 406,
    );
  });

  test("the default table is Name and Created At", () => {
    const t = asTable(
      defs[2]!,
      [{ metadata: { name: "w", creationTimestamp: "2026-01-02T03:04:05Z", resourceVersion: "7" } }],
      { resourceVersion: "7" },
      { version: "v1", include: "Metadata", noHeaders: false, now: new Date() },
    );
    assert.deepEqual(
      (t.columnDefinitions as Array<{ name: string; type: string; format: string }>).map((c) => [
        c.name,
        c.type,
        c.format,
      ]),
      [
        ["Name", "string", "name"],
        ["Created At", "date", ""],
      ],
    );
    assert.deepEqual(t.rows[0].cells, ["w", "2026-01-02T03:04:05Z"]);
    assert.deepEqual(t.rows[0].object, {
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: { name: "w", creationTimestamp: "2026-01-02T03:04:05Z", resourceVersion: "7" },
    });
  });
});
