import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  builtinFieldGetters,
  checkSupportedFields,
  escapeFieldValue,
  FieldSelectorError,
  fieldsOf,
  parseFieldSelector,
  unescapeFieldValue,
} from "../../src/api/index.js";

describe("field selectors", () => {
  test("parse, sort and print (upstream vectors)", () => {
    assert.equal(parseFieldSelector("b=2,a==1").toString(), "a=1,b=2");
    assert.equal(parseFieldSelector("x!=y").toString(), "x!=y");
    assert.equal(parseFieldSelector("").isEmpty(), true);
    assert.equal(parseFieldSelector("x=a\\,b").requirements[0]!.value, "a,b");
    assert.equal(parseFieldSelector("x=a\\=b\\\\c").requirements[0]!.value, "a=b\\c");
    assert.equal(parseFieldSelector("x=").requirements[0]!.value, "");
  });

  test("errors carry upstream wording", () => {
    assert.throws(() => parseFieldSelector("x"), { message: "invalid selector: 'x'; can't understand 'x'" });
    assert.throws(() => parseFieldSelector("x=a=b"), {
      message: "invalid field selector: unescaped character in value: 61",
    });
    assert.throws(() => parseFieldSelector("x=a\\b"), {
      message: "invalid field selector: invalid escape sequence: \\b",
    });
    assert.throws(() => parseFieldSelector("x=a\\"), FieldSelectorError);
  });

  test("escape round trip", () => {
    for (const v of ["plain", "a,b", "a=b", "a\\b", ",=\\"])
      assert.equal(unescapeFieldValue(escapeFieldValue(v)), v);
  });

  test("describe node's pod selector", () => {
    const sel = parseFieldSelector("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed");
    const pod = (node: string, phase: string) => ({
      metadata: { name: "p" },
      spec: { nodeName: node },
      status: { phase },
    });
    assert.equal(sel.matches(fieldsOf("Pod", pod("n1", "Running"))), true);
    assert.equal(sel.matches(fieldsOf("Pod", pod("n1", "Failed"))), false);
    assert.equal(sel.matches(fieldsOf("Pod", pod("n2", "Running"))), false);
    assert.equal(sel.requiresExactMatch("spec.nodeName"), "n1");
  });

  test("describe pod's event selector", () => {
    const sel = parseFieldSelector(
      "involvedObject.uid=u1,involvedObject.name=p,involvedObject.namespace=default",
    );
    const ev = {
      metadata: { name: "e", namespace: "default" },
      involvedObject: { uid: "u1", name: "p", namespace: "default" },
    };
    assert.equal(sel.matches(fieldsOf("Event", ev)), true);
    assert.equal(sel.matches(fieldsOf("Event", { ...ev, involvedObject: { uid: "u2" } })), false);
  });

  test("unsupported fields are rejected like upstream", () => {
    assert.throws(
      () => checkSupportedFields(parseFieldSelector("spec.foo=1"), builtinFieldGetters.Pod!.supported),
      {
        message: "field label not supported: spec.foo",
      },
    );
    assert.throws(() => checkSupportedFields(parseFieldSelector("spec.replicas=1"), undefined), {
      message: '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
    });
    checkSupportedFields(parseFieldSelector("metadata.name=x"), undefined);
    checkSupportedFields(parseFieldSelector("spec.nodeName=x"), builtinFieldGetters.Pod!.supported);
  });

  test("metadata fields for any kind, booleans as strings", () => {
    assert.deepEqual(fieldsOf("Deployment", { metadata: { name: "web", namespace: "ns" } }), {
      "metadata.name": "web",
      "metadata.namespace": "ns",
    });
    assert.equal(
      fieldsOf("Node", { metadata: { name: "n" }, spec: { unschedulable: true } })["spec.unschedulable"],
      "true",
    );
    assert.equal(fieldsOf("Pod", { metadata: { name: "n" } })["spec.hostNetwork"], "false");
  });
});
