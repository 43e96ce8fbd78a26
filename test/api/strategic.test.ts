// biome-ignore-all lint/suspicious/noExplicitAny: the fixtures reach deep into patched JSON
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  applyStrategicMergePatch,
  type FieldSchema,
  type JsonObject,
  StatusError,
  schemaFor,
  type TypeSchema,
} from "../../src/api/index.js";

// The schema of upstream's test struct MergeItem (strategicpatch/patch_test.go).
const mergeItemFields: Record<string, FieldSchema> = {};
const mergeItem: TypeSchema = { fields: mergeItemFields };
Object.assign(mergeItemFields, {
  mergingList: { strategy: "merge", mergeKey: "name", type: mergeItem },
  nonMergingList: { type: mergeItem },
  mergingIntList: { strategy: "merge" },
  retainKeysMap: { strategy: "retainKeys" },
  simpleMap: {},
  replacingItem: { strategy: "replace" },
});

const smp = (original: JsonObject, patch: JsonObject, schema: TypeSchema = mergeItem) =>
  applyStrategicMergePatch(original, patch, schema);

describe("strategic merge patch: upstream vectors", () => {
  test("delete items in lists of scalars", () => {
    assert.deepEqual(
      smp(
        { mergingIntList: [1, 2, 3, 4] },
        { "$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3] },
      ),
      { mergingIntList: [1, 2, 4] },
    );
  });

  test("set elements order in a list with server-only items", () => {
    assert.deepEqual(
      smp(
        {
          mergingList: [
            { name: 1, other: "a" },
            { name: 3, value: 3 },
            { name: 4, value: 4 },
            { name: 2, value: 2 },
            { name: 9 },
          ],
        },
        { "$setElementOrder/mergingList": [{ name: 4 }, { name: 2 }, { name: 3 }, { name: 1 }] },
      ),
      {
        mergingList: [
          { name: 4, value: 4 },
          { name: 2, value: 2 },
          { name: 3, value: 3 },
          { name: 1, other: "a" },
          { name: 9 },
        ],
      },
    );
  });

  test("set elements order in a list with server-only items 3", () => {
    assert.deepEqual(
      smp(
        {
          mergingList: [
            { name: 1, other: "a" },
            { name: 2, value: 2 },
            { name: 7 },
            { name: 9 },
            { name: 8 },
            { name: 3, value: 3 },
            { name: 4, value: 4 },
          ],
        },
        { "$setElementOrder/mergingList": [{ name: 2 }, { name: 1 }, { name: 4 }, { name: 3 }] },
      ),
      {
        mergingList: [
          { name: 2, value: 2 },
          { name: 1, other: "a" },
          { name: 7 },
          { name: 9 },
          { name: 8 },
          { name: 4, value: 4 },
          { name: 3, value: 3 },
        ],
      },
    );
  });

  test("add and delete an item in a list and preserve order", () => {
    assert.deepEqual(
      smp(
        { mergingList: [{ name: 1 }, { name: 2, value: "b" }, { name: 3 }] },
        {
          "$setElementOrder/mergingList": [{ name: 4 }, { name: 2 }, { name: 3 }],
          mergingList: [
            { name: 4, value: "d" },
            { name: 1, $patch: "delete" },
          ],
        },
      ),
      { mergingList: [{ name: 4, value: "d" }, { name: 2, value: "b" }, { name: 3 }] },
    );
  });

  test("retainKeys map should clear defaulted field", () => {
    assert.deepEqual(
      smp({ retainKeysMap: { value: "foo" } }, { retainKeysMap: { $retainKeys: ["other"], other: "bar" } }),
      {
        retainKeysMap: { other: "bar" },
      },
    );
  });

  test("merging int list dedupes, non-merging list replaces, nested merge", () => {
    assert.deepEqual(smp({ mergingIntList: [1, 2] }, { mergingIntList: [2, 3] }), {
      mergingIntList: [1, 2, 3],
    });
    assert.deepEqual(smp({ nonMergingList: [{ name: "a" }] }, { nonMergingList: [{ name: "b" }] }), {
      nonMergingList: [{ name: "b" }],
    });
    assert.deepEqual(
      smp(
        { mergingList: [{ name: "a", mergingList: [{ name: "x", value: 1 }] }] },
        { mergingList: [{ name: "a", mergingList: [{ name: "y", value: 2 }] }] },
      ),
      // Upstream puts patch items that are new ahead of server-only ones when no $setElementOrder is sent.
      {
        mergingList: [
          {
            name: "a",
            mergingList: [
              { name: "y", value: 2 },
              { name: "x", value: 1 },
            ],
          },
        ],
      },
    );
  });

  test("map directives and nulls", () => {
    assert.deepEqual(smp({ simpleMap: { a: "1", b: "2" } }, { simpleMap: { a: null, c: "3" } }), {
      simpleMap: { b: "2", c: "3" },
    });
    assert.deepEqual(smp({ simpleMap: { a: "1" } }, { simpleMap: { $patch: "replace", c: "3" } }), {
      simpleMap: { c: "3" },
    });
    assert.deepEqual(smp({ simpleMap: { a: "1" } }, { simpleMap: { $patch: "delete" } }), { simpleMap: {} });
    assert.deepEqual(smp({ replacingItem: { a: 1 } }, { replacingItem: { b: 2 } }), {
      replacingItem: { b: 2 },
    });
    assert.deepEqual(smp({}, { newMap: { a: null, b: 1 } }), { newMap: { b: 1 } });
    assert.deepEqual(
      smp(
        { mergingList: [{ name: "a" }, { name: "b" }] },
        { mergingList: [{ name: "c" }, { $patch: "replace" }] },
      ),
      {
        mergingList: [{ name: "c" }],
      },
    );
  });

  test("errors map to upstream status codes and messages", () => {
    const code = (orig: JsonObject, patch: unknown) => {
      try {
        applyStrategicMergePatch(orig, patch as JsonObject, mergeItem);
      } catch (e) {
        assert.ok(e instanceof StatusError);
        return [e.code, e.message];
      }
      return [0, ""];
    };
    assert.deepEqual(code({ retainKeysMap: {} }, { retainKeysMap: { $retainKeys: "x" } }), [
      400,
      "invalid patch format of retainKeys",
    ]);
    assert.deepEqual(code({ retainKeysMap: {} }, { retainKeysMap: { $retainKeys: ["a"], b: 1 } }), [
      400,
      "invalid patch format of retainKeys",
    ]);
    assert.deepEqual(code({ mergingIntList: [[1]] }, { mergingIntList: [[2]] }), [
      422,
      "the server rejected our request due to an error in our request",
    ]);
    assert.deepEqual(code({ mergingList: [{ name: "a" }] }, { mergingList: [{ value: 1 }] }), [
      500,
      "map: map[value:1] does not contain declared merge key: name",
    ]);
    assert.deepEqual(code({ simpleMap: {} }, { simpleMap: { $patch: "frob" } }), [
      500,
      "unknown patch type: frob in map: map[$patch:frob]",
    ]);
    assert.deepEqual(code({}, { "$setElementOrderX/a": [] }), [
      400,
      "invalid patch format of setElementOrder list",
    ]);
    assert.deepEqual(code({ mergingIntList: [1] }, { $deleteFromPrimitiveListX: [1] }), [
      400,
      "invalid patch format of primitive list",
    ]);
    assert.deepEqual(code({}, [1]), [
      400,
      "json: cannot unmarshal []interface {} into Go value of type map[string]interface {}",
    ]);
  });
});

describe("strategic merge patch on built-in kinds", () => {
  const deploySchema = schemaFor("apps/v1", "Deployment")!;
  const podSchema = schemaFor("v1", "Pod")!;
  const deployment = (): JsonObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", finalizers: ["a", "b"] },
    spec: {
      replicas: 1,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "nginx",
              image: "nginx:1.25",
              ports: [{ containerPort: 80 }],
              env: [{ name: "A", value: "1" }],
            },
            { name: "sidecar", image: "busybox" },
          ],
          tolerations: [{ key: "a", operator: "Exists" }],
        },
      },
    },
  });

  test("kubectl set image merges containers by name", () => {
    const live = deployment();
    const before = JSON.stringify(live);
    const out = smp(
      live,
      { spec: { template: { spec: { containers: [{ image: "nginx:1.26", name: "nginx" }] } } } },
      deploySchema,
    );
    assert.equal(JSON.stringify(live), before, "input untouched");
    const containers = (out.spec as any).template.spec.containers;
    assert.deepEqual(
      containers.map((c: any) => [c.name, c.image]),
      [
        ["nginx", "nginx:1.26"],
        ["sidecar", "busybox"],
      ],
    );
    assert.deepEqual(containers[0].ports, [{ containerPort: 80 }]);
  });

  test("rollout restart annotation, env and ports merge, tolerations replace", () => {
    const out = smp(
      deployment(),
      {
        spec: {
          template: {
            metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z" } },
            spec: {
              containers: [
                { name: "nginx", env: [{ name: "B", value: "2" }], ports: [{ containerPort: 443 }] },
              ],
              tolerations: [{ key: "b", operator: "Exists" }],
            },
          },
        },
      },
      deploySchema,
    ) as any;
    const t = out.spec.template;
    assert.equal(t.metadata.annotations["kubectl.kubernetes.io/restartedAt"], "2025-01-01T00:00:00Z");
    assert.deepEqual(t.metadata.labels, { app: "web" });
    // New items go first, as upstream orders a merge without $setElementOrder.
    assert.deepEqual(t.spec.containers[0].env, [
      { name: "B", value: "2" },
      { name: "A", value: "1" },
    ]);
    assert.deepEqual(
      t.spec.containers[0].ports.map((p: any) => p.containerPort),
      [443, 80],
    );
    assert.deepEqual(t.spec.tolerations, [{ key: "b", operator: "Exists" }]);
  });

  test("client-side apply three-way patch: delete a container, retainKeys strategy, finalizers", () => {
    const out = smp(
      deployment(),
      {
        metadata: { "$deleteFromPrimitiveList/finalizers": ["a"], finalizers: ["c"] },
        spec: {
          strategy: { $retainKeys: ["type"], type: "Recreate" },
          template: {
            spec: {
              "$setElementOrder/containers": [{ name: "nginx" }],
              containers: [{ name: "sidecar", $patch: "delete" }],
            },
          },
        },
      },
      deploySchema,
    ) as any;
    assert.deepEqual(out.spec.strategy, { type: "Recreate" });
    assert.deepEqual(
      out.spec.template.spec.containers.map((c: any) => c.name),
      ["nginx"],
    );
    assert.deepEqual(out.metadata.finalizers, ["c", "b"]);
    assert.equal(JSON.stringify(out).includes("$"), false, "no directive leaks into the stored object");
  });

  test("volumes merge by name, pod conditions by type", () => {
    const pod: JsonObject = {
      spec: { volumes: [{ name: "a", emptyDir: {} }] },
      status: { conditions: [{ type: "Ready", status: "False" }] },
    };
    const out = smp(
      pod,
      {
        spec: { volumes: [{ name: "b", configMap: { name: "cm" } }] },
        status: {
          conditions: [
            { type: "Ready", status: "True" },
            { type: "Initialized", status: "True" },
          ],
        },
      },
      podSchema,
    ) as any;
    assert.deepEqual(
      out.spec.volumes.map((v: any) => v.name),
      ["b", "a"],
    );
    assert.deepEqual(out.status.conditions, [
      { type: "Ready", status: "True" },
      { type: "Initialized", status: "True" },
    ]);
  });

  test("custom resources have no schema", () => {
    assert.equal(schemaFor("example.com/v1", "Widget"), undefined);
    assert.ok(schemaFor("v1", "Pod"));
    assert.ok(schemaFor("batch/v1", "Job"));
  });
});
