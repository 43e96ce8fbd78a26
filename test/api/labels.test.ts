import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  labelSelectorFromMeta,
  labelSelectorFromSet,
  newRequirement,
  parseLabelSelector,
  SelectorError,
} from "../../src/api/index.js";

// Vectors from apimachinery pkg/labels/selector_test.go (v0.32).
describe("label selector parsing", () => {
  test("good strings round-trip without spaces", () => {
    for (const s of [
      "x=a,y=b,z=c",
      "",
      "x!=a,y=b",
      "x=",
      "x= ",
      "x=,z= ",
      "x= ,z= ",
      "!x",
      "x>1",
      "x>1,z<5",
    ]) {
      assert.equal(parseLabelSelector(s).toString(), s.replaceAll(" ", ""), s);
    }
  });

  test("bad strings are rejected", () => {
    for (const s of [
      "x=a||y=b",
      "x==a==b",
      "!x=a",
      "x<a",
      "x,,y",
      ",x,y",
      "x nott in (y)",
      "a in (xyz),",
      "a in (xyz)b notin ()",
      "a in (xyz abc)",
      "a notin(",
      "a (",
      "(",
    ]) {
      assert.throws(() => parseLabelSelector(s), SelectorError, s);
    }
  });

  test("set-based forms", () => {
    const cases: [string, string][] = [
      ["x in (abc,def)", "x in (abc,def)"],
      ["x in (abc,)", "x in (,abc)"],
      ["x in ()", "x in ()"],
      ["x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()"],
      [
        "this-is-another-dns.domain.com/key-with-dash in (so,what)",
        "this-is-another-dns.domain.com/key-with-dash in (so,what)",
      ],
      [
        "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
        "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)",
      ],
      ["foo  in\t (abc)", "foo in (abc)"],
      ["x notin\n (abc)", "x notin (abc)"],
      ["\rx", "x"],
      ["a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"],
      ["x notin (, a)", "x notin (,a)"],
      ["x,y in (a)", "x,y in (a)"],
    ];
    for (const [input, canonical] of cases)
      assert.equal(parseLabelSelector(input).toString(), canonical, input);
  });

  test("deterministic order", () => {
    assert.equal(parseLabelSelector("x=a,a=x").toString(), parseLabelSelector("a=x,x=a").toString());
  });

  test("upstream error messages", () => {
    assert.throws(() => parseLabelSelector("x nott in (y)"), {
      message: "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt",
    });
    assert.throws(() => parseLabelSelector("x,,y"), { message: "found ',', expected: identifier after ','" });
    assert.throws(() => parseLabelSelector("!x=a"), {
      message: "found '=', expected: ',' or 'end of string'",
    });
    assert.throws(() => parseLabelSelector("x<a"), {
      message:
        "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer",
    });
    assert.throws(() => parseLabelSelector("a/b/c=x"), {
      message:
        "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    });
  });
});

describe("label selector matching", () => {
  const yes = (sel: string, labels: Record<string, string>) =>
    assert.equal(
      parseLabelSelector(sel).matches(labels),
      true,
      `${sel} should match ${JSON.stringify(labels)}`,
    );
  const no = (sel: string, labels: Record<string, string>) =>
    assert.equal(
      parseLabelSelector(sel).matches(labels),
      false,
      `${sel} should not match ${JSON.stringify(labels)}`,
    );

  test("upstream TestSelectorMatches", () => {
    yes("", { x: "y" });
    yes("x=y", { x: "y" });
    yes("x=y,z=w", { x: "y", z: "w" });
    yes("x!=y,z!=w", { x: "z", z: "a" });
    yes("notin=in", { notin: "in" });
    yes("x", { x: "z" });
    yes("!x", { y: "z" });
    yes("x>1", { x: "2" });
    yes("x<1", { x: "0" });
    no("x=z", {});
    no("x=y", { x: "z" });
    no("x=y,z=w", { x: "w", z: "w" });
    no("x!=y,z!=w", { x: "z", z: "w" });
    no("x", { y: "z" });
    no("!x", { x: "z" });
    no("x>1", { x: "0" });
    no("x<1", { x: "2" });
    no("z>1", { z: "v2" });
    const set = { foo: "bar", baz: "blah" };
    yes("foo=bar,baz=blah", set);
    no("foo=bar,foobar=bar,baz=blah", set);
    yes("x notin (foo)", { y: "" });
    yes("y in (a,b)", { y: "b" });
    no("y in (a,b)", {});
  });

  test("from a set and from metav1.LabelSelector", () => {
    assert.equal(labelSelectorFromSet({ b: "2", a: "1" }).toString(), "a=1,b=2");
    assert.equal(labelSelectorFromMeta(undefined).matches({}), false);
    assert.equal(labelSelectorFromMeta({}).matches({ any: "thing" }), true);
    const sel = labelSelectorFromMeta({
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["fe", "be"] },
        { key: "canary", operator: "DoesNotExist" },
      ],
    });
    assert.equal(sel.toString(), "app=web,!canary,tier in (be,fe)");
    assert.equal(sel.matches({ app: "web", tier: "fe" }), true);
    assert.equal(sel.matches({ app: "web", tier: "fe", canary: "1" }), false);
    assert.throws(
      () => labelSelectorFromMeta({ matchExpressions: [{ key: "a", operator: "Gt", values: ["1"] }] }),
      {
        message: '"Gt" is not a valid label selector operator',
      },
    );
    assert.equal(parseLabelSelector("app in (web)").requiresExactMatch("app"), "web");
  });

  test("requirement validation", () => {
    assert.throws(() => newRequirement("x", "in", []), {
      message: "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty",
    });
    assert.throws(
      () => newRequirement("x", "=", ["a b"]),
      /values\[0\]\[x\]: Invalid value: "a b": a valid label must be/,
    );
  });
});
