import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HistoryRecorder, type Operation, operationsFromJSON, operationsToJSON } from "./history.js";

describe("history recorder", () => {
  test("completes each invocation once and keeps pending ones as unknown", () => {
    const recorder = new HistoryRecorder<string, string>();
    const a = recorder.invoke(1, "x");
    const b = recorder.invoke(2, "y");
    recorder.ok(a, "done");
    assert.throws(() => recorder.ok(a, "again"), /already completed as ok/);
    assert.throws(() => recorder.info(99), /unknown history token 99/);
    const ops = recorder.operations();
    assert.equal(ops.length, 2);
    assert.ok((ops[0] as Operation<string, string>).return >= (ops[0] as Operation<string, string>).call);
    assert.equal((ops[1] as Operation<string, string>).return, Number.POSITIVE_INFINITY);
    assert.equal(recorder.recorded()[b]?.status, "pending");
    assert.throws(() => HistoryRecorder.fromJSON("{}"), /not a saved history/);
    assert.throws(() => HistoryRecorder.fromJSON("nope"), /not valid JSON/);
  });
});

describe("history JSON", () => {
  test("checker operations round-trip, unknown outcomes included", () => {
    const ops: Operation<{ k: string }, { v: number }>[] = [
      { clientId: 1, input: { k: "a" }, output: { v: 1 }, call: 1.5, return: 2.25 },
      { clientId: 2, input: { k: "b" }, output: undefined, call: 2, return: Number.POSITIVE_INFINITY },
    ];
    assert.deepEqual(operationsFromJSON(operationsToJSON(ops, "a note")), ops);
    assert.throws(
      () => operationsFromJSON('{"format":"kite-jepsen-history/1","operations":[{"clientId":1}]}'),
      /operation 0 is malformed/,
    );
  });
});
