import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { JsonValue } from "../../src/api/index.js";
import {
  applyJsonPatch,
  applyMergePatch,
  formatPointer,
  parsePointer,
  StatusError,
} from "../../src/api/index.js";

const apply = (doc: string, patch: string) => applyJsonPatch(JSON.parse(doc), JSON.parse(patch));
const fails = (doc: string, patch: string, code: number) =>
  assert.throws(
    () => apply(doc, patch),
    (e: unknown) => e instanceof StatusError && e.code === code,
  );

// RFC 6902 Appendix A.
describe("JSON patch (RFC 6902 appendix A)", () => {
  test("A.1-A.7", () => {
    assert.deepEqual(apply('{"foo":"bar"}', '[{"op":"add","path":"/baz","value":"qux"}]'), {
      baz: "qux",
      foo: "bar",
    });
    assert.deepEqual(apply('{"foo":["bar","baz"]}', '[{"op":"add","path":"/foo/1","value":"qux"}]'), {
      foo: ["bar", "qux", "baz"],
    });
    assert.deepEqual(apply('{"baz":"qux","foo":"bar"}', '[{"op":"remove","path":"/baz"}]'), { foo: "bar" });
    assert.deepEqual(apply('{"foo":["bar","qux","baz"]}', '[{"op":"remove","path":"/foo/1"}]'), {
      foo: ["bar", "baz"],
    });
    assert.deepEqual(apply('{"baz":"qux","foo":"bar"}', '[{"op":"replace","path":"/baz","value":"boo"}]'), {
      baz: "boo",
      foo: "bar",
    });
    assert.deepEqual(
      apply(
        '{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}',
        '[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]',
      ),
      { foo: { bar: "baz" }, qux: { corge: "grault", thud: "fred" } },
    );
    assert.deepEqual(
      apply('{"foo":["all","grass","cows","eat"]}', '[{"op":"move","from":"/foo/1","path":"/foo/3"}]'),
      {
        foo: ["all", "cows", "eat", "grass"],
      },
    );
  });

  test("A.8-A.16", () => {
    const doc = '{"baz":"qux","foo":["a",2,"c"]}';
    assert.deepEqual(
      apply(doc, '[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]'),
      JSON.parse(doc),
    );
    fails('{"baz":"qux"}', '[{"op":"test","path":"/baz","value":"bar"}]', 422);
    assert.deepEqual(apply('{"foo":"bar"}', '[{"op":"add","path":"/child","value":{"grandchild":{}}}]'), {
      foo: "bar",
      child: { grandchild: {} },
    });
    assert.deepEqual(apply('{"foo":"bar"}', '[{"op":"add","path":"/baz","value":"qux","xyz":123}]'), {
      foo: "bar",
      baz: "qux",
    });
    fails('{"foo":"bar"}', '[{"op":"add","path":"/baz/bat","value":"qux"}]', 422);
    assert.deepEqual(apply('{"/":9,"~1":10}', '[{"op":"test","path":"/~01","value":10}]'), {
      "/": 9,
      "~1": 10,
    });
    fails('{"/":9,"~1":10}', '[{"op":"test","path":"/~01","value":"10"}]', 422);
    assert.deepEqual(apply('{"foo":["bar"]}', '[{"op":"add","path":"/foo/-","value":["abc","def"]}]'), {
      foo: ["bar", ["abc", "def"]],
    });
  });

  test("copy, whole-document ops and pointers", () => {
    assert.deepEqual(apply('{"a":{"b":1}}', '[{"op":"copy","from":"/a","path":"/c"}]'), {
      a: { b: 1 },
      c: { b: 1 },
    });
    assert.deepEqual(apply('{"a":1}', '[{"op":"replace","path":"","value":{"b":2}}]'), { b: 2 });
    assert.deepEqual(parsePointer("/a~1b/~0c/0"), ["a/b", "~c", "0"]);
    assert.equal(formatPointer(["a/b", "~c"]), "/a~1b/~0c");
  });

  test("failures map to upstream status codes", () => {
    fails('{"a":1}', '{"op":"add"}', 400);
    fails('{"a":1}', "[1]", 400);
    fails('{"a":1}', '[{"op":"remove","path":"/b"}]', 422);
    fails('{"a":1}', '[{"op":"replace","path":"/b","value":1}]', 422);
    fails('{"a":[1]}', '[{"op":"add","path":"/a/5","value":1}]', 422);
    fails('{"a":[1]}', '[{"op":"add","path":"/a/01","value":1}]', 422);
    fails('{"a":1}', '[{"op":"frob","path":"/a"}]', 422);
    fails('{"a":1}', '[{"op":"add","path":"/b"}]', 422);
    fails('{"a":{"b":1}}', '[{"op":"move","from":"/a","path":"/a/b/c"}]', 422);
    const many = JSON.stringify(Array.from({ length: 10001 }, () => ({ op: "test", path: "/a", value: 1 })));
    fails('{"a":1}', many, 413);
    try {
      apply('{"a":1}', '[{"op":"remove","path":"/b"}]');
    } catch (e) {
      const s = (e as StatusError).status;
      assert.equal(s.reason, "Invalid");
      assert.equal(s.message, "the server rejected our request due to an error in our request");
      assert.match(
        s.details!.causes![0]!.message!,
        /remove operation does not apply: doc is missing key: "\/b"/,
      );
    }
  });

  test("the input is never mutated", () => {
    const doc = { a: { b: [1, 2] } };
    const before = JSON.stringify(doc);
    const out = applyJsonPatch(doc, [
      { op: "add", path: "/a/b/-", value: 3 },
      { op: "remove", path: "/a/b/0" },
    ]) as { a: { b: number[] } };
    assert.equal(JSON.stringify(doc), before);
    assert.deepEqual(out.a.b, [2, 3]);
  });
});

// RFC 7386 Appendix A.
describe("merge patch (RFC 7386 appendix A)", () => {
  const cases: [string, string, string][] = [
    ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
    ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
    ['{"a":"b"}', '{"a":null}', "{}"],
    ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
    ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
    ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
    ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
    ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
    ['["a","b"]', '["c","d"]', '["c","d"]'],
    ['{"a":"b"}', '["c"]', '["c"]'],
    ['{"a":"foo"}', "null", "null"],
    ['{"a":"foo"}', '"bar"', '"bar"'],
    ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
    ["[1,2]", '{"a":"b","c":null}', '{"a":"b"}'],
    ["{}", '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
  ];
  test("table", () => {
    for (const [target, patch, result] of cases) {
      assert.deepEqual(
        applyMergePatch(JSON.parse(target), JSON.parse(patch)),
        JSON.parse(result),
        `${target} + ${patch}`,
      );
    }
  });

  test("kubectl scale and label patches; inputs untouched, result unshared", () => {
    const live: JsonValue = {
      metadata: { name: "web", labels: { a: "1" } },
      spec: { replicas: 1, template: { x: 1 } },
    };
    const before = JSON.stringify(live);
    const out = applyMergePatch(live, {
      spec: { replicas: 3 },
      metadata: { labels: { b: "2", a: null } },
    }) as {
      spec: { template: unknown };
    };
    assert.equal(JSON.stringify(live), before);
    assert.deepEqual(out, {
      metadata: { name: "web", labels: { b: "2" } },
      spec: { replicas: 3, template: { x: 1 } },
    });
    assert.notEqual(out.spec.template, (live as { spec: { template: unknown } }).spec.template);
  });
});
