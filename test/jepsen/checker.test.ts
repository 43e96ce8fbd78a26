import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { checkOperations, type Model, type Operation } from "./checker.js";
import { operationsFromJSON } from "./history.js";
import { simulate } from "./simulate.js";

// Registers keyed by name; partitioned per key, so each sub-history's state is one value.
type RegisterInput = { kind: "read"; key: string } | { kind: "write"; key: string; value: string };
type RegisterOutput = { value: string | null } | Record<string, never>;
type RegisterOp = Operation<RegisterInput, RegisterOutput>;

function registerModel(partition: boolean): Model<string | null, RegisterInput, RegisterOutput> {
  return {
    init: () => null,
    step(state, input, output) {
      if (input.kind === "write") return input.value;
      if (output === undefined) return state;
      return "value" in output && output.value === state ? state : undefined;
    },
    hash: (s) =>
      s === null ? 0 : [...s].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261) >>> 0,
    equal: (a, b) => a === b,
    ...(partition
      ? {
          partition(history: RegisterOp[]) {
            const byKey = new Map<string, RegisterOp[]>();
            for (const op of history) byKey.set(op.input.key, [...(byKey.get(op.input.key) ?? []), op]);
            return [...byKey.values()];
          },
        }
      : {}),
    describeOperation: (input, output) =>
      input.kind === "write"
        ? `write(${input.key}, ${input.value})`
        : `read(${input.key}) -> ${output === undefined ? "?" : JSON.stringify((output as { value: string | null }).value)}`,
    describeState: (s) => JSON.stringify(s),
  };
}

const single = registerModel(false);
const keyed = registerModel(true);
const write = (clientId: number, value: string, call: number, ret: number, key = "x"): RegisterOp => ({
  clientId,
  input: { kind: "write", key, value },
  output: {},
  call,
  return: ret,
});
const read = (clientId: number, value: string | null, call: number, ret: number, key = "x"): RegisterOp => ({
  clientId,
  input: { kind: "read", key },
  output: { value },
  call,
  return: ret,
});
const unknownWrite = (clientId: number, value: string, call: number, key = "x"): RegisterOp => ({
  ...write(clientId, value, call, Number.POSITIVE_INFINITY, key),
  output: undefined,
});

describe("checker: hand-written register histories", () => {
  test("the empty history and a sequential history are linearizable", () => {
    assert.equal(checkOperations(single, []).ok, true);
    assert.equal(
      checkOperations(single, [
        write(1, "a", 0, 1),
        read(2, "a", 2, 3),
        write(1, "b", 4, 5),
        read(2, "b", 6, 7),
      ]).ok,
      true,
    );
  });

  test("a read overlapping a write may see either value", () => {
    assert.equal(
      checkOperations(single, [write(1, "a", 0, 1), write(1, "b", 2, 10), read(2, "b", 3, 4)]).ok,
      true,
    );
    assert.equal(
      checkOperations(single, [write(1, "a", 0, 1), write(1, "b", 2, 10), read(2, "a", 3, 4)]).ok,
      true,
    );
    // Touching intervals count as concurrent.
    assert.equal(checkOperations(single, [write(1, "a", 0, 5), read(2, null, 5, 6)]).ok, true);
  });

  test("a stale read after a completed write is rejected with an explanation", () => {
    const stale = read(3, "a", 6, 7);
    const result = checkOperations(single, [write(1, "a", 0, 1), write(2, "b", 2, 3), stale]);
    assert.equal(result.ok, false);
    if (result.ok !== false) return;
    assert.equal(result.blocking, stale);
    assert.equal(result.longestPrefix.length, 2);
    assert.equal(result.state, '"b"');
    assert.match(result.explanation, /longest linearizable prefix found has 2 of 3/);
    assert.match(result.explanation, /stuck at client 3's read\(x\) -> "a" at \[6\.0ms, 7\.0ms\]/);
    assert.match(result.explanation, /model state after the prefix: "b"/);
  });

  test("two reads that disagree about the order of concurrent writes are rejected", () => {
    const history = [
      write(1, "a", 0, 10),
      write(2, "b", 0, 10),
      read(3, "a", 1, 2),
      read(3, "b", 3, 4),
      read(4, "a", 5, 6),
    ];
    assert.equal(checkOperations(single, history).ok, false);
  });

  test("an unknown-outcome write may take effect late, or never, but not twice", () => {
    const before = [write(1, "a", 0, 1), unknownWrite(2, "b", 2)];
    assert.equal(checkOperations(single, [...before, read(3, "b", 50, 51)]).ok, true);
    assert.equal(checkOperations(single, [...before, read(3, "a", 50, 51)]).ok, true);
    assert.equal(checkOperations(single, [...before, read(3, "a", 50, 51), read(3, "b", 60, 61)]).ok, true);
    const flipBack = checkOperations(single, [...before, read(3, "b", 50, 51), read(3, "a", 60, 61)]);
    assert.equal(flipBack.ok, false);
    // It cannot take effect before it was called.
    assert.equal(checkOperations(single, [read(3, "b", 0, 1), unknownWrite(2, "b", 2)]).ok, false);
  });

  test("partitions are checked independently and the failing one is named", () => {
    const history = [
      write(1, "a", 0, 1, "x"),
      write(2, "p", 0, 1, "y"),
      read(3, "a", 2, 3, "x"),
      write(1, "q", 4, 5, "y"),
      read(3, "p", 6, 7, "y"),
    ];
    const result = checkOperations(keyed, history);
    assert.equal(result.ok, false);
    if (result.ok !== false) return;
    assert.equal(result.stats.partitions, 2);
    assert.equal(result.partition, 1);
    assert.match(result.explanation, /sub-history 2 of 2/);
    assert.equal(checkOperations(keyed, history.slice(0, 4)).ok, true);
  });

  test("a step budget turns a long search into unknown", () => {
    const history = [
      write(1, "a", 0, 100),
      write(2, "b", 0, 100),
      read(3, "b", 1, 2),
      read(4, "a", 3, 4),
      read(5, "c", 3, 4),
    ];
    const result = checkOperations(single, history, { maxSteps: 3 });
    assert.equal(result.ok, "unknown");
    if (result.ok === "unknown") assert.match(result.reason, /step budget of 3/);
    assert.equal(checkOperations(single, history).ok, false);
  });

  test("a failing check dumps a history that loads back and fails the same way", () => {
    const dir = mkdtempSync(join(tmpdir(), "kite-jepsen-"));
    try {
      const path = join(dir, "history.json");
      const history = [write(1, "a", 0, 1), unknownWrite(2, "b", 2), read(3, "c", 5, 6)];
      const result = checkOperations(single, history, { dumpPath: path });
      assert.equal(result.ok, false);
      const text = readFileSync(path, "utf8");
      assert.match(text, /not linearizable/);
      const loaded = operationsFromJSON<RegisterInput, RegisterOutput>(text);
      assert.deepEqual(loaded, history);
      assert.equal(checkOperations(single, loaded).ok, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("malformed histories get a clear error", () => {
    assert.throws(
      () => checkOperations(single, [write(1, "a", 5, 4)]),
      /returns \(4\) before it is called \(5\)/,
    );
    assert.throws(() => checkOperations(single, [write(1, "a", Number.NaN, 4)]), /non-finite call time/);
  });
});

describe("checker: simulated linearizable register histories", () => {
  const keys = ["a", "b", "c"];
  const simulateRegisters = (seed: number) =>
    simulate<Map<string, string>, RegisterInput, RegisterOutput>({
      seed,
      clients: 6,
      operations: 300,
      initial: new Map(),
      infoRate: 0.05,
      failRate: 0.05,
      generate: (rng) =>
        rng.chance(0.5)
          ? { kind: "read", key: rng.pick(keys) }
          : { kind: "write", key: rng.pick(keys), value: `v${rng.int(1_000_000)}` },
      apply(state, input): { state: Map<string, string>; output: RegisterOutput } {
        if (input.kind === "read") return { state, output: { value: state.get(input.key) ?? null } };
        return { state: new Map(state).set(input.key, input.value), output: {} };
      },
    }).operations();

  test("every simulated history passes, and corrupting one read makes it fail", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const history = simulateRegisters(seed);
      const result = checkOperations(keyed, history, { timeoutMs: 10_000 });
      assert.equal(result.ok, true, `seed ${seed}: ${result.ok === false ? result.explanation : ""}`);

      const reads = history.filter((op) => op.input.kind === "read" && op.output !== undefined);
      const victim = reads[seed % reads.length] as RegisterOp;
      const corrupted = { ...victim, output: { value: "impossible" } };
      const mutated = history.map((op) => (op === victim ? corrupted : op));
      const bad = checkOperations(keyed, mutated, { timeoutMs: 10_000 });
      assert.equal(bad.ok, false, `seed ${seed}: corrupted read was accepted`);
      if (bad.ok === false) assert.equal(bad.blocking, corrupted, `seed ${seed}: ${bad.explanation}`);
    }
  });
});
