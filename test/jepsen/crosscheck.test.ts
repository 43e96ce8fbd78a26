// Cross-checks the checker's verdicts against brute force on many small random histories, with
// and without unknown outcomes, so both "linearizable" and "not linearizable" answers are tested.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../sim/rng.js";
import { checkOperations, type Operation } from "./checker.js";
import {
  applyRequest,
  type EtcdRequest,
  type EtcdResponse,
  type EtcdState,
  etcdModel,
  initialEtcdState,
  responsesEqual,
} from "./etcd-model.js";

/**
 * Tries every order that respects real time. Unknown-outcome operations may be left out; known
 * ones must all appear. `apply` returns the next state, or undefined if the output is impossible.
 */
function bruteForce<S, I, O>(
  ops: Operation<I, O>[],
  init: S,
  apply: (s: S, op: Operation<I, O>) => S | undefined,
): boolean {
  const done = new Array<boolean>(ops.length).fill(false);
  const known = ops.filter((op) => op.output !== undefined).length;
  const search = (state: S, knownDone: number): boolean => {
    if (knownDone === known) return true;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Operation<I, O>;
      if (done[i] || ops.some((p, j) => !done[j] && p.return < op.call)) continue;
      const next = apply(state, op);
      if (next === undefined) continue;
      done[i] = true;
      const found = search(next, knownDone + (op.output === undefined ? 0 : 1));
      done[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(init, 0);
}

/** Random overlapping intervals for `count` operations from `clients` sequential clients. */
function intervals(
  rng: Rng,
  count: number,
  clients: number,
): { clientId: number; call: number; return: number }[] {
  const clock = new Array<number>(clients).fill(0);
  const result = [];
  for (let i = 0; i < count; i++) {
    const clientId = rng.int(clients);
    const call = (clock[clientId] as number) + rng.int(3);
    const ret = call + 1 + rng.int(6);
    clock[clientId] = ret;
    result.push({ clientId, call, return: ret });
  }
  return result;
}

test("register verdicts match brute force on random small histories", () => {
  type In = { write: string | null } | { read: true };
  type Out = { value: string | null };
  const model = {
    init: () => null as string | null,
    step: (s: string | null, input: In, output: Out | undefined) =>
      "write" in input ? input.write : output === undefined || output.value === s ? s : undefined,
    hash: (s: string | null) => (s === null ? 0 : s.charCodeAt(0)),
    equal: (a: string | null, b: string | null) => a === b,
  };
  const rng = new Rng(77);
  const verdicts = { linearizable: 0, violation: 0 };
  for (let round = 0; round < 400; round++) {
    const ops: Operation<In, Out>[] = intervals(rng, 3 + rng.int(5), 3).map((slot) => {
      const value = rng.pick(["a", "b", null]);
      if (rng.chance(0.5)) return { ...slot, input: { read: true }, output: { value } };
      const unknown = rng.chance(0.3);
      return {
        ...slot,
        input: { write: value },
        output: unknown ? undefined : { value: null },
        return: unknown ? Number.POSITIVE_INFINITY : slot.return,
      };
    });
    const expected = bruteForce(ops, null as string | null, (s, op) => model.step(s, op.input, op.output));
    const result = checkOperations(model, ops);
    assert.equal(result.ok, expected, `round ${round}: ${JSON.stringify(ops)}`);
    verdicts[expected ? "linearizable" : "violation"]++;
  }
  assert.ok(verdicts.linearizable > 50 && verdicts.violation > 50, JSON.stringify(verdicts));
});

test("etcd verdicts match brute force on random small histories with perturbed responses", () => {
  type EtcdOp = Operation<EtcdRequest, EtcdResponse>;
  const rng = new Rng(99);
  const verdicts = { linearizable: 0, violation: 0 };
  for (let round = 0; round < 300; round++) {
    // Generate responses from one random sequential order, then perturb some of them.
    let state: EtcdState = initialEtcdState();
    const ops: EtcdOp[] = intervals(rng, 3 + rng.int(4), 3).map((slot) => {
      const key = rng.pick(["a", "b"]);
      const roll = rng.float();
      const input: EtcdRequest =
        roll < 0.4
          ? { type: "get", key }
          : roll < 0.75
            ? { type: "put", key, value: rng.pick(["x", "y"]) }
            : roll < 0.85
              ? { type: "delete", key }
              : {
                  type: "txn",
                  compare: [{ key, target: "version", op: "=", value: rng.int(2) }],
                  success: [{ type: "put", key, value: "z" }],
                  failure: [{ type: "get", key }],
                };
      const applied = applyRequest(state, input);
      state = applied.state;
      let output: EtcdResponse | undefined = applied.response;
      if (rng.chance(0.25)) output = { ...output, revision: output.revision + rng.pick([-1, 1]) };
      if (input.type !== "get" && rng.chance(0.2)) output = undefined;
      return {
        ...slot,
        input,
        output,
        return: output === undefined ? Number.POSITIVE_INFINITY : slot.return,
      };
    });
    const expected = bruteForce(ops, initialEtcdState(), (s, op) => {
      const applied = applyRequest(s, op.input);
      return op.output === undefined || responsesEqual(applied.response, op.output)
        ? applied.state
        : undefined;
    });
    const result = checkOperations(etcdModel(), ops);
    assert.equal(result.ok, expected, `round ${round}: ${JSON.stringify(ops)}`);
    verdicts[expected ? "linearizable" : "violation"]++;
  }
  assert.ok(verdicts.linearizable > 40 && verdicts.violation > 40, JSON.stringify(verdicts));
});
