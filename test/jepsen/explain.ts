// Turns a failed search into prose: the longest linearizable prefix, the operation that could
// not take effect before it returned, the other candidates and why the model rejects them.

import type { Model, Operation } from "./checker.js";
import type { SearchResult } from "./search.js";

export function describeState<S, I, O>(model: Model<S, I, O>, state: S): string {
  return model.describeState ? model.describeState(state) : JSON.stringify(state);
}

function formatTime(t: number, origin: number): string {
  return t === Number.POSITIVE_INFINITY ? "∞" : `${(t - origin).toFixed(1)}ms`;
}

/** `origin` is the earliest call in the whole history; times print relative to it. */
export function explain<S, I, O>(
  model: Model<S, I, O>,
  v: Extract<SearchResult<S, I, O>, { kind: "violation" }>,
  sub: Operation<I, O>[],
  partition: number,
  partitionCount: number,
  origin: number,
): string {
  const what = (op: Operation<I, O>) =>
    model.describeOperation
      ? model.describeOperation(op.input, op.output)
      : `${JSON.stringify(op.input)} -> ${op.output === undefined ? "unknown" : JSON.stringify(op.output)}`;
  const describe = (op: Operation<I, O>) =>
    `client ${op.clientId}'s ${what(op)} at [${formatTime(op.call, origin)}, ${formatTime(op.return, origin)}]`;
  const why = (op: Operation<I, O>) => {
    if (model.step(v.state, op.input, op.output) !== undefined) {
      return "it could take effect here, but every continuation from there was already refuted";
    }
    return model.explainIllegal
      ? model.explainIllegal(v.state, op, v.prefix, describe)
      : "the model rejects its output in this state";
  };
  const where = partitionCount > 1 ? ` (sub-history ${partition + 1} of ${partitionCount})` : "";
  const lines = [
    `not linearizable${where}: the longest linearizable prefix found has ${v.prefix.length} of ${sub.length} operations.`,
    `stuck at ${describe(v.blocking)}: it must take effect before it returns, but ${why(v.blocking)}.`,
  ];
  const others = v.candidates.filter((op) => op !== v.blocking);
  if (others.length > 0) {
    lines.push("other operations that could not be linearized next either:");
    for (const op of others.slice(0, 8)) lines.push(`  - ${describe(op)}: ${why(op)}`);
    if (others.length > 8) lines.push(`  - ... and ${others.length - 8} more`);
  }
  lines.push(`model state after the prefix: ${describeState(model, v.state)}`);
  for (const other of v.others) {
    const why = model.explainIllegal
      ? `: ${model.explainIllegal(other.state, v.blocking, other.prefix, describe)}`
      : "";
    lines.push(`another linearization reached it in state ${describeState(model, other.state)}${why}`);
  }
  const tail = v.prefix.slice(-5);
  if (tail.length > 0) {
    lines.push(`last ${tail.length} operations of the prefix, in linearization order:`);
    for (const op of tail) lines.push(`  - ${describe(op)}`);
  }
  return lines.join("\n");
}
