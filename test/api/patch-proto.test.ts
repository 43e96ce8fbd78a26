import assert from "node:assert/strict";
import { test } from "node:test";
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, schemaFor } from "../../src/api/index.js";

// A "__proto__" key in a JSON body is an ordinary key to Kubernetes (Go has no prototypes).
// Patching must treat it as data and never reach Object.prototype.
const hostile = () =>
  JSON.parse('{"metadata":{"__proto__":{"polluted":"yes"}},"__proto__":{"polluted":"yes"}}');

function assertClean(): void {
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was polluted");
}

test("merge patch keeps __proto__ keys as data and does not pollute Object.prototype", () => {
  const out = applyMergePatch({ metadata: { name: "x" } }, hostile()) as Record<string, unknown>;
  assertClean();
  assert.ok(Object.hasOwn(out, "__proto__"));
  assert.deepEqual(Object.getOwnPropertyDescriptor(out, "__proto__")?.value, { polluted: "yes" });
  const meta = out.metadata as Record<string, unknown>;
  assert.equal(meta.name, "x");
  assert.ok(Object.hasOwn(meta, "__proto__"));
});

test("strategic merge patch does not pollute Object.prototype", () => {
  const schema = schemaFor("v1", "ConfigMap");
  assert.ok(schema);
  try {
    applyStrategicMergePatch({ metadata: { name: "x" } }, hostile(), schema);
  } catch {
    // rejecting the key is acceptable; polluting is not
  }
  assertClean();
});

test("JSON patch paths through __proto__ do not pollute Object.prototype", () => {
  try {
    applyJsonPatch({ a: {} }, [{ op: "add", path: "/__proto__/polluted", value: "yes" }]);
  } catch {
    // an error is fine
  }
  try {
    applyJsonPatch({ a: {} }, [{ op: "add", path: "/a/__proto__", value: { polluted: "yes" } }]);
  } catch {
    // an error is fine
  }
  assertClean();
});
