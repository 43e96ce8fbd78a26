import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  aggregateMessage,
  FieldPath,
  fieldErrorString,
  fieldErrors,
  goQuote,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  toStatusCause,
} from "../../src/api/index.js";

describe("name validation", () => {
  test("DNS-1123 subdomain: exact upstream message", () => {
    assert.deepEqual(isDNS1123Subdomain("example.com"), []);
    assert.deepEqual(isDNS1123Subdomain("Foo"), [
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]);
    assert.deepEqual(isDNS1123Subdomain("a".repeat(254)), ["must be no more than 253 characters"]);
  });

  test("DNS-1123 label", () => {
    assert.deepEqual(isDNS1123Label("my-name"), []);
    assert.deepEqual(isDNS1123Label("a.b"), ["must not contain dots"]);
    assert.deepEqual(isDNS1123Label("-a"), [
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
    assert.equal(isDNS1123Label("a".repeat(64))[0], "must be no more than 63 characters");
    assert.deepEqual(isDNS1035Label("1abc").length, 1);
  });

  test("qualified names and label values", () => {
    for (const ok of [
      "simple",
      "now-with-dashes",
      "1-starts-with-num",
      "1234",
      "simple/simple",
      "now-with-dashes/simple",
      "example.com/Name_.-x",
      "a".repeat(63),
    ]) {
      assert.deepEqual(isQualifiedName(ok), [], ok);
    }
    for (const bad of [
      "nospecialchars%^=@",
      "Tama-nui-te-rā.is.Māori.sun",
      "\\backslashes\\are\\bad",
      "-starts-with-dash",
      "ends-with-dash-",
      "/simple",
      "a/b/c",
      "a".repeat(64),
      "example.com/",
    ]) {
      assert.notDeepEqual(isQualifiedName(bad), [], bad);
    }
    assert.deepEqual(isQualifiedName("/x"), ["prefix part must be non-empty"]);
    assert.deepEqual(isValidLabelValue(""), []);
    assert.deepEqual(isValidLabelValue("my_value"), []);
    assert.equal(isValidLabelValue("a b").length, 1);
  });
});

describe("field errors", () => {
  test("paths print like upstream", () => {
    const p = FieldPath.root("spec").child("containers").index(0).child("name");
    assert.equal(p.toString(), "spec.containers[0].name");
    assert.equal(FieldPath.root("metadata", "labels").key("app").toString(), "metadata.labels[app]");
  });

  test("messages and causes", () => {
    const req = fieldErrors.required("spec.containers[0].name");
    assert.equal(fieldErrorString(req), "spec.containers[0].name: Required value");
    assert.deepEqual(toStatusCause(req), {
      reason: "FieldValueRequired",
      message: "Required value",
      field: "spec.containers[0].name",
    });
    const inv = fieldErrors.invalid("metadata.name", "Foo", "bad");
    assert.equal(fieldErrorString(inv), 'metadata.name: Invalid value: "Foo": bad');
    assert.equal(
      fieldErrorString(fieldErrors.invalid("spec.replicas", -1, "must be greater than or equal to 0")),
      "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    );
    assert.equal(
      fieldErrorString(
        fieldErrors.notSupported("spec.restartPolicy", "Sometimes", ["Always", "OnFailure", "Never"]),
      ),
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    );
    assert.equal(
      fieldErrorString(fieldErrors.forbidden("spec", "updates are forbidden")),
      "spec: Forbidden: updates are forbidden",
    );
    assert.equal(
      fieldErrorString(fieldErrors.duplicate("spec.ports[1]", "x")),
      'spec.ports[1]: Duplicate value: "x"',
    );
    assert.equal(
      fieldErrorString(fieldErrors.tooMany("items", 5, 3)),
      "items: Too many: 5: must have at most 3 items",
    );
    assert.equal(
      aggregateMessage([req, inv, req]),
      `[spec.containers[0].name: Required value, metadata.name: Invalid value: "Foo": bad]`,
    );
  });

  test("Go quoting", () => {
    assert.equal(goQuote('a"b\\c\n'), '"a\\"b\\\\c\\n"');
    assert.equal(goQuote("\x01"), '"\\x01"');
    assert.equal(goQuote("rā"), '"rā"');
  });
});
