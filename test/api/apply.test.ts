import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  FieldSet,
  formatFieldPath,
  type KubeObject,
  recordUpdate,
  StatusError,
  schemaFor,
  serverSideApply,
} from "../../src/api/index.js";

const schema = schemaFor("apps/v1", "Deployment")!;
const T0 = "2025-01-01T00:00:00Z";
const T1 = "2025-01-01T00:01:00Z";
const base = { manager: "kubectl", apiVersion: "apps/v1", now: T0, schema };

const manifest = (
  over: { replicas?: number; image?: string; labels?: Record<string, string>; sidecar?: boolean } = {},
) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default", labels: over.labels ?? { app: "web" } },
  spec: {
    replicas: over.replicas ?? 1,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        containers: [
          { name: "nginx", image: over.image ?? "nginx:1.25", ports: [{ containerPort: 80 }] },
          ...(over.sidecar ? [{ name: "sidecar", image: "busybox" }] : []),
        ],
      },
    },
  },
});

const statusOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StatusError);
    return e.status;
  }
  assert.fail("expected a StatusError");
};

describe("server-side apply", () => {
  test("create records upstream-shaped FieldsV1", () => {
    const obj = serverSideApply(undefined, manifest(), base);
    assert.equal(obj.spec.replicas, 1);
    assert.deepEqual(obj.metadata!.managedFields, [
      {
        manager: "kubectl",
        operation: "Apply",
        apiVersion: "apps/v1",
        time: T0,
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
              "f:metadata": { "f:labels": { "f:app": {} } },
              "f:spec": {
                "f:containers": {
                  'k:{"name":"nginx"}': {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                      'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ]);
  });

  test("re-apply updates own fields without conflict and keeps server fields", () => {
    const live = { ...serverSideApply(undefined, manifest(), base), status: { replicas: 1 } } as KubeObject;
    live.metadata!.uid = "u1";
    const next = serverSideApply(live, manifest({ image: "nginx:1.26" }), { ...base, now: T1 });
    assert.equal(next.spec.template.spec.containers[0].image, "nginx:1.26");
    assert.equal(next.metadata!.uid, "u1");
    assert.deepEqual(next.status, { replicas: 1 });
    assert.equal(next.metadata!.managedFields!.length, 1);
    assert.equal(next.metadata!.managedFields![0]!.time, T1);
  });

  test("conflict with an updater, shared ownership on equal values, force takes over", () => {
    const created = serverSideApply(undefined, manifest(), base);
    const scaled = recordUpdate(
      created,
      { ...created, spec: { ...created.spec, replicas: 3 } },
      {
        manager: "kubectl-edit",
        apiVersion: "apps/v1",
        now: T1,
        schema,
      },
    );
    const editEntry = scaled.metadata!.managedFields!.find((m) => m.manager === "kubectl-edit")!;
    assert.deepEqual(editEntry.fieldsV1, { "f:spec": { "f:replicas": {} } });
    assert.equal(editEntry.operation, "Update");
    assert.equal(
      FieldSet.fromFieldsV1(scaled.metadata!.managedFields![0]!.fieldsV1).has(["f:spec", "f:replicas"]),
      false,
    );

    const status = statusOf(() => serverSideApply(scaled, manifest({ replicas: 5 }), base));
    assert.equal(status.code, 409);
    assert.equal(status.reason, "Conflict");
    assert.equal(
      status.message,
      'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
    );
    assert.deepEqual(status.details, {
      causes: [
        {
          reason: "FieldManagerConflict",
          message: 'conflict with "kubectl-edit" using apps/v1',
          field: ".spec.replicas",
        },
      ],
    });

    const shared = serverSideApply(scaled, manifest({ replicas: 3 }), base);
    assert.equal(shared.spec.replicas, 3);
    const owners = shared.metadata!.managedFields!.filter((m) =>
      FieldSet.fromFieldsV1(m.fieldsV1).has(["f:spec", "f:replicas"]),
    );
    assert.deepEqual(owners.map((m) => m.manager).sort(), ["kubectl", "kubectl-edit"]);

    const forced = serverSideApply(scaled, manifest({ replicas: 5 }), { ...base, force: true });
    assert.equal(forced.spec.replicas, 5);
    assert.deepEqual(
      forced.metadata!.managedFields!.map((m) => m.manager),
      ["kubectl"],
    );
  });

  test("several conflicts are listed per manager", () => {
    const created = serverSideApply(undefined, manifest(), base);
    const edited = recordUpdate(
      created,
      {
        ...created,
        spec: {
          ...created.spec,
          replicas: 2,
          template: { ...created.spec.template, metadata: { labels: { app: "web", x: "y" } } },
        },
      },
      { manager: "editor", apiVersion: "apps/v1", now: T1, schema },
    );
    const edited2 = recordUpdate(
      edited,
      { ...edited, metadata: { ...edited.metadata, labels: { app: "other" } } },
      {
        manager: "labeler",
        apiVersion: "apps/v1",
        now: T1,
        schema,
      },
    );
    const status = statusOf(() => serverSideApply(edited2, manifest({ replicas: 7 }), base));
    assert.equal(
      status.message,
      'Apply failed with 2 conflicts: conflicts with "editor" using apps/v1:\n- .spec.replicas\nconflicts with "labeler" using apps/v1:\n- .metadata.labels.app',
    );
  });

  test("fields no longer applied are removed unless someone else owns them", () => {
    const v1 = serverSideApply(
      undefined,
      manifest({ labels: { app: "web", tier: "fe" }, sidecar: true }),
      base,
    );
    const v2 = serverSideApply(v1, manifest(), { ...base, now: T1 });
    assert.deepEqual(v2.metadata!.labels, { app: "web" });
    assert.deepEqual(
      v2.spec.template.spec.containers.map((c: { name: string }) => c.name),
      ["nginx"],
    );

    const other = serverSideApply(
      v1,
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", labels: { tier: "fe" } } },
      {
        ...base,
        manager: "other",
      },
    );
    const v3 = serverSideApply(other, manifest(), { ...base, now: T1 });
    assert.deepEqual(v3.metadata!.labels, { app: "web", tier: "fe" });
  });

  test("objects without managedFields belong to before-first-apply", () => {
    const legacy: KubeObject = {
      ...manifest({ replicas: 2 }),
      metadata: { name: "web", namespace: "default", labels: { app: "web" } },
    };
    const status = statusOf(() => serverSideApply(legacy, manifest({ replicas: 4 }), base));
    assert.equal(
      status.message,
      'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas',
    );
  });

  test("fieldManager is required", () => {
    const status = statusOf(() => serverSideApply(undefined, manifest(), { ...base, manager: "" }));
    assert.equal(status.code, 422);
    assert.equal(
      status.message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
  });

  test("custom resources: lists are atomic", () => {
    const cr = {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w" },
      spec: { items: [{ a: 1 }, { a: 2 }] },
    };
    const obj = serverSideApply(undefined, cr, { manager: "m", apiVersion: "example.com/v1", now: T0 });
    assert.deepEqual(obj.metadata!.managedFields![0]!.fieldsV1, { "f:spec": { "f:items": {} } });
    const again = serverSideApply(
      obj,
      { ...cr, spec: { items: [{ a: 3 }] } },
      { manager: "m", apiVersion: "example.com/v1", now: T0 },
    );
    assert.deepEqual(again.spec.items, [{ a: 3 }]);
  });
});

describe("field sets", () => {
  test("FieldsV1 round trip and path printing", () => {
    const v1 = {
      "f:metadata": { "f:labels": { ".": {}, "f:app": {} }, "f:finalizers": { 'v:"x"': {} } },
      "f:spec": { "f:containers": { 'k:{"name":"nginx"}': { ".": {}, "f:image": {} } } },
    };
    const set = FieldSet.fromFieldsV1(v1);
    assert.equal(set.size, 5);
    assert.deepEqual(set.toFieldsV1(), v1);
    assert.equal(formatFieldPath(["f:spec", 'k:{"name":"nginx"}', "f:image"]), '.spec[name="nginx"].image');
    assert.equal(formatFieldPath(["f:metadata", "f:finalizers", 'v:"x"']), '.metadata.finalizers[="x"]');
    assert.equal(
      formatFieldPath(["f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}']),
      '.spec.ports[port=80,protocol="TCP"]',
    );
  });

  test("updates give the updater what changed, labels maps as members", () => {
    const opts = {
      manager: "kubectl-create",
      apiVersion: "v1",
      now: T0,
      schema: schemaFor("v1", "ConfigMap"),
    };
    const cm = recordUpdate(
      undefined,
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", labels: { a: "1" } }, data: { k: "v" } },
      opts,
    );
    assert.deepEqual(cm.metadata!.managedFields![0]!.fieldsV1, {
      "f:data": { "f:k": {} },
      "f:metadata": { "f:labels": { ".": {}, "f:a": {} } },
    });
    const unchanged = recordUpdate(cm, cm, { ...opts, manager: "someone-else", now: T1 });
    assert.deepEqual(unchanged.metadata!.managedFields, cm.metadata!.managedFields);
  });
});
