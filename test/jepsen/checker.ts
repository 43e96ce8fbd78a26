// A linearizability checker for recorded client histories: the public entry point. It splits the
// history with the model's partition (P-compositionality), runs the Wing–Gong/Lowe search
// (search.ts) on each part under a shared time/step budget, and explains a violation in words.
// An operation with an unknown outcome has return = Infinity: it may take effect at any point
// after its call, or never.

import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { describeState, explain } from "./explain.js";
import { type Operation, operationsToJSON } from "./history.js";
import { type Budget, searchLinearization } from "./search.js";

export type { Operation } from "./history.js";

/**
 * A sequential specification. States must be treated as immutable: step returns a new state.
 * `output === undefined` means the outcome is unknown, so step must then accept every state.
 */
export interface Model<S, I, O> {
  init(): S;
  /** The state after `input` produced `output`, or undefined when that output is impossible. */
  step(state: S, input: I, output: O | undefined): S | undefined;
  /** A 32-bit hash consistent with equal(). */
  hash(state: S): number;
  equal(a: S, b: S): boolean;
  /**
   * For a state that is a set of alternative states (a non-deterministic model made
   * deterministic): its members, each as a one-member state. Requires step to act on each member
   * independently (the result's members are the union of each member's results). Lets the search
   * prune a set whose every member was already refuted.
   */
  split?(state: S): S[];
  /** Splits a history into independent sub-histories (P-compositionality), e.g. one per key. */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
  describeOperation?(input: I, output: O | undefined): string;
  describeState?(state: S): string;
  /**
   * Why `op` cannot take effect in `state`, in words. `prefix` is the linearization that led
   * to `state`; `describe` renders an operation with its client and times, for citations.
   */
  explainIllegal?(
    state: S,
    op: Operation<I, O>,
    prefix: readonly Operation<I, O>[],
    describe: (op: Operation<I, O>) => string,
  ): string;
}

export interface CheckOptions {
  /** Give up with ok: "unknown" after this long (ms, whole check). */
  timeoutMs?: number;
  /** Give up with ok: "unknown" after this many search steps (whole check). */
  maxSteps?: number;
  /** When the result is not ok: true, save the history here (historyFromJSON format, verdict as "note"). */
  dumpPath?: string;
}

export interface CheckStats {
  steps: number;
  cacheEntries: number;
  elapsedMs: number;
  partitions: number;
}

export interface Violation<I, O> {
  ok: false;
  /** Several lines of prose naming the operations, their times and the model state. */
  explanation: string;
  /** Index of the failing sub-history among model.partition()'s result (0 without partitioning). */
  partition: number;
  subHistory: Operation<I, O>[];
  /** The longest linearizable prefix found, in linearization order. */
  longestPrefix: Operation<I, O>[];
  /** The operation whose return was reached without being able to linearize it. */
  blocking: Operation<I, O>;
  /** Every operation that was a candidate to linearize next at that point (includes blocking). */
  candidates: Operation<I, O>[];
  /** The model state after longestPrefix, as describeState renders it. */
  state: string;
  /** Other states (up to 3) in which other explored linearizations were stuck at `blocking`. */
  otherStates: string[];
  stats: CheckStats;
}

export type CheckResult<I, O> =
  | { ok: true; stats: CheckStats }
  | Violation<I, O>
  | { ok: "unknown"; reason: string; stats: CheckStats };

export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  const started = performance.now();
  validateHistory(history);
  const partitions = model.partition ? model.partition([...history]) : [[...history]];
  const budget: Budget = {
    deadline: options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : started + options.timeoutMs,
    maxSteps: options.maxSteps ?? Number.POSITIVE_INFINITY,
    steps: 0,
    cacheEntries: 0,
  };
  const stats = (): CheckStats => ({
    steps: budget.steps,
    cacheEntries: budget.cacheEntries,
    elapsedMs: performance.now() - started,
    partitions: partitions.length,
  });
  let unknownReason: string | undefined;
  let result: CheckResult<I, O> | undefined;
  for (let p = 0; p < partitions.length && result === undefined; p++) {
    const sub = partitions[p] as Operation<I, O>[];
    const single = searchLinearization(model, sub, budget);
    if (single.kind === "unknown") unknownReason ??= `partition ${p}: ${single.reason}`;
    if (single.kind === "violation") {
      const origin = history.reduce((min, op) => Math.min(min, op.call), Number.POSITIVE_INFINITY);
      result = {
        ok: false,
        explanation: explain(model, single, sub, p, partitions.length, origin),
        partition: p,
        subHistory: sub,
        longestPrefix: single.prefix,
        blocking: single.blocking,
        candidates: single.candidates,
        state: describeState(model, single.state),
        otherStates: single.others.map((o) => describeState(model, o.state)),
        stats: stats(),
      };
    }
  }
  result ??=
    unknownReason === undefined
      ? { ok: true, stats: stats() }
      : { ok: "unknown", reason: unknownReason, stats: stats() };
  if (result.ok !== true && options.dumpPath !== undefined) {
    const detail = result.ok === false ? result.explanation : result.reason;
    writeFileSync(options.dumpPath, `${operationsToJSON(history, detail)}\n`);
  }
  return result;
}

function validateHistory<I, O>(history: readonly Operation<I, O>[]): void {
  history.forEach((op, i) => {
    if (!Number.isFinite(op.call)) throw new Error(`operation ${i} has a non-finite call time ${op.call}`);
    if (Number.isNaN(op.return) || op.return < op.call) {
      throw new Error(`operation ${i} returns (${op.return}) before it is called (${op.call})`);
    }
  });
}
