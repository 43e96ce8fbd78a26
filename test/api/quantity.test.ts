import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  errFormatWrong,
  parseQuantity,
  Quantity,
  QuantityError,
  sumQuantities,
} from "../../src/api/index.js";

const q = (s: string | number) => parseQuantity(s);
const nano = (s: string) => q(s).nanos;

// Vectors from apimachinery api/resource/quantity_test.go (v0.32).
describe("quantity parsing", () => {
  test("values and formats", () => {
    const cases: [string, bigint, string][] = [
      ["0", 0n, "DecimalSI"],
      ["0Ki", 0n, "BinarySI"],
      ["1", 1_000_000_000n, "DecimalSI"],
      ["1Ki", 1024n * 10n ** 9n, "BinarySI"],
      ["3Ei", 3n * 2n ** 60n * 10n ** 9n, "BinarySI"],
      ["5n", 5n, "DecimalSI"],
      ["4u", 4000n, "DecimalSI"],
      ["3m", 3_000_000n, "DecimalSI"],
      ["50k", 50_000n * 10n ** 9n, "DecimalSI"],
      ["1E", 10n ** 27n, "DecimalSI"],
      ["1E-3", 1_000_000n, "DecimalExponent"],
      ["1.3E+6", 13n * 10n ** 14n, "DecimalExponent"],
      ["100.035k", 100035n * 10n ** 9n, "DecimalSI"],
      ["0.0005k", 500_000_000n, "DecimalSI"],
      ["0.5e-2", 5_000_000n, "DecimalExponent"],
      ["3.001n", 4n, "DecimalSI"],
      ["1.1E-9", 2n, "DecimalExponent"],
      ["0.0000000001", 1n, "DecimalSI"],
      ["0.00000012345", 124n, "DecimalSI"],
      ["9Ei", (2n ** 63n - 1n) * 10n ** 9n, "BinarySI"],
      ["9223372036854775807Ki", (2n ** 63n - 1n) * 10n ** 9n, "BinarySI"],
      ["12E", 12n * 10n ** 27n, "DecimalSI"],
      ["100.035Ki", 10243584n * 10n ** 7n, "BinarySI"],
      ["0.5Mi", 524288n * 10n ** 9n, "BinarySI"],
      ["0.000000000001Ki", 2n, "DecimalSI"],
      [".001", 1_000_000n, "DecimalSI"],
      ["1.", 10n ** 9n, "DecimalSI"],
      ["1.G", 10n ** 18n, "DecimalSI"],
    ];
    for (const [s, n, format] of cases) {
      assert.equal(nano(s), n, s);
      assert.equal(q(s).format, format, s);
      assert.equal(nano(`-${s}`), -n, `-${s}`);
      assert.equal(nano(`+${s}`), n, `+${s}`);
    }
  });

  test("invalid quantities", () => {
    for (const s of [
      "",
      "1.1.M",
      "1+1.0M",
      "0.1mi",
      "0.1am",
      "aoeu",
      ".5i",
      "1i",
      "-3.01i",
      "-3.01e-",
      " 1",
      "1 ",
      "1e",
    ]) {
      assert.throws(() => q(s), QuantityError, JSON.stringify(s));
    }
    assert.throws(() => q("aoeu"), {
      message: "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    });
    assert.equal(
      errFormatWrong,
      "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    );
    assert.throws(() => q("1Q"), {
      message: "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    });
    assert.throws(() => q("0.1mi"), { message: "unable to parse quantity's suffix" });
  });
});

describe("canonical formatting", () => {
  test("upstream TestQuantityString/ParseEmit alternates", () => {
    const cases: [string, string][] = [
      ["1024Mi", "1Gi"],
      ["307200Ki", "300Mi"],
      ["1025024Mi", "1001Gi"],
      ["1024Gi", "1Ti"],
      ["1000M", "1G"],
      ["0.001T", "1G"],
      ["1000u", "1m"],
      ["1.08", "1080m"],
      ["1080000000n", "1080m"],
      [".001e12", "1e9"],
      ["0.001e0", "1e-3"],
      ["1000e-12", "1e-9"],
      ["00", "0"],
      [".001Ki", "1024m"],
      [".000001Ki", "1024u"],
      [".000000001Ki", "1024n"],
      [".000000000001Ki", "2n"],
      ["1.5", "1500m"],
      ["0.5", "500m"],
      ["1000m", "1"],
      ["1000E", "1000E"],
      ["5000m", "5"],
    ];
    for (const [input, canonical] of cases) {
      assert.equal(q(input).toString(), canonical, input);
      assert.equal(q(`-${input}`).toString(), input.match(/^0*\.?0*$/) ? "0" : `-${canonical}`, `-${input}`);
    }
  });

  test("canonical strings are kept as written", () => {
    for (const s of [
      "1Gi",
      "300Mi",
      "6Ki",
      "1001Gi",
      "5",
      "500m",
      "1G",
      "1m",
      "80m",
      "1080m",
      "300M",
      "1T",
      "1234567M",
      "3k",
      "1025",
      "0",
      "1e9",
      "1e-3",
      "80e-3",
      "300e6",
      "1n",
      "1080u",
      "100m",
    ]) {
      assert.equal(q(s).toString(), s);
    }
  });

  test("JSON numbers parse like their text", () => {
    assert.equal(q(1).toString(), "1");
    assert.equal(q(0.5).toString(), "500m");
    assert.equal(q(1e21).nanos, 10n ** 30n);
  });
});

describe("quantity arithmetic", () => {
  test("value and milli value round away from zero", () => {
    assert.equal(q("1Gi").value(), 1073741824n);
    assert.equal(q("1n").value(), 1n);
    assert.equal(q("-1n").value(), -1n);
    assert.equal(q("1n").milliValue(), 1n);
    assert.equal(q("250m").milliValue(), 250n);
    assert.equal(q("2").milliValue(), 2000n);
  });

  test("compare and sum", () => {
    assert.equal(q("100m").cmp(q("50m")), 1);
    assert.equal(q("50m").cmp(q("100m")), -1);
    assert.equal(q("10000T").cmp(q("100Gi")), 1);
    assert.equal(q("1Gi").cmp(q("1024Mi")), 0);
    assert.equal(sumQuantities([q("100m"), q("0.9")]).toString(), "1");
    assert.equal(sumQuantities([q("512Mi"), q("512Mi")]).toString(), "1Gi");
    assert.equal(q("0").add(q("1Gi")).toString(), "1Gi");
    assert.equal(q("100m").add(q("0")).toString(), "100m");
    assert.equal(q("0").sub(q("100m")).toString(), "-100m");
    assert.equal(Quantity.fromMilli(1500).toString(), "1500m");
    assert.equal(Quantity.fromValue(2048, "BinarySI").toString(), "2Ki");
    assert.equal(JSON.stringify({ cpu: q("0.5") }), '{"cpu":"500m"}');
  });
});
