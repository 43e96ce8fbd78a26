// The Wing–Gong search with Lowe's memoization over one (sub-)history, shaped like porcupine's
// checkSingle. Call and return events sit in time order in a doubly linked list. The search
// linearizes the first call whose model step is legal, lifts it and its return out of the list,
// and backtracks on reaching a return whose call is not linearized. A cache of
// (linearized set, model state) prunes configurations already seen.
//
// Unknown-outcome operations (return = Infinity, output undefined) never have to be linearized:
// not taking effect is always one of their outcomes. So the history is linearizable once every
// known operation is, and a configuration is pruned when a cached one (refuted, or an ancestor on
// the search path) has the same known operations and state and linearized a subset of the
// unknown ones: any completion of this one completes that one too, without the extra ones.
// For set-of-states models (Model.split), every member of a refuted state is remembered as
// refuted, and a new state whose members are all refuted is pruned: a linearization from a set
// of alternatives is a linearization from one of its members.

import { performance } from "node:perf_hooks";
import type { Model, Operation } from "./checker.js";

export interface Budget {
  deadline: number;
  maxSteps: number;
  steps: number;
  cacheEntries: number;
}

export type SearchResult<S, I, O> =
  | { kind: "ok" }
  | { kind: "unknown"; reason: string }
  | {
      kind: "violation";
      prefix: Operation<I, O>[];
      state: S;
      others: { state: S; prefix: Operation<I, O>[] }[];
      blocking: Operation<I, O>;
      candidates: Operation<I, O>[];
    };

interface CacheEntry<S> {
  bits: Uint32Array;
  state: S;
}

interface Frame<S> {
  node: number;
  /** The state before this call was linearized. */
  state: S;
}

const NIL = -1;
const HEAD = 0;

export function searchLinearization<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  budget: Budget,
): SearchResult<S, I, O> {
  const n = ops.length;
  if (n === 0) return { kind: "ok" };
  const list = buildList(ops);
  const { next, opOf, isReturn } = list;
  const unknown = new Uint8Array(n);
  const words = (n + 31) >>> 5;
  const knownMask = new Uint32Array(words).fill(0xffffffff);
  ops.forEach((op, id) => {
    if (op.return === Number.POSITIVE_INFINITY && op.output === undefined) {
      unknown[id] = 1;
      knownMask[id >>> 5] = (knownMask[id >>> 5] as number) & ~(1 << (id & 31));
    }
  });
  const linearized = new Uint32Array(words);
  const zobrist = zobristTable(n);
  let knownHash = 0;
  const cache = new Map<number, CacheEntry<S>[]>();
  const stack: Frame<S>[] = [];

  const flip = (id: number) => {
    linearized[id >>> 5] = (linearized[id >>> 5] as number) ^ (1 << (id & 31));
    if (!unknown[id]) knownHash = (knownHash ^ (zobrist[id] as number)) >>> 0;
  };
  /** The cached linearized set has the same known operations and at most the same unknown ones. */
  const covers = (bits: Uint32Array) => {
    for (let w = 0; w < words; w++) {
      const cached = bits[w] as number;
      const now = linearized[w] as number;
      if ((cached & ~now) !== 0 || (now & ~cached & (knownMask[w] as number)) !== 0) return false;
    }
    return true;
  };
  // Members of refuted power-set states, each refuted on its own (see Model.split).
  const refutedMembers = new Map<number, { bits: Uint32Array; member: S }[]>();
  const memberKey = (member: S) => knownHash * 0x200000 + (model.hash(member) >>> 11);
  const memberRefuted = (member: S) =>
    refutedMembers.get(memberKey(member))?.some((r) => covers(r.bits) && model.equal(r.member, member)) ===
    true;
  const pruned = (c: CacheEntry<S>, newState: S) => {
    return covers(c.bits) && model.equal(c.state, newState);
  };

  let state = model.init();
  /** Linearizes `node` if legal and not pruned; true when it was pushed. */
  const tryLinearize = (node: number): boolean => {
    const id = opOf[node] as number;
    const op = ops[id] as Operation<I, O>;
    const newState = model.step(state, op.input, op.output);
    if (newState === undefined) return false;
    flip(id);
    const key = knownHash * 0x200000 + (model.hash(newState) >>> 11);
    const bucket = cache.get(key);
    if (bucket?.some((c) => pruned(c, newState)) || model.split?.(newState).every(memberRefuted)) {
      flip(id);
      return false;
    }
    const cached = { bits: linearized.slice(), state: newState };
    if (bucket === undefined) cache.set(key, [cached]);
    else bucket.push(cached);
    budget.cacheEntries++;
    stack.push({ node, state });
    state = newState;
    list.lift(node);
    return true;
  };

  let best = -1;
  let bestFrames: number[] = [];
  let bestState = state;
  let bestBlocking = 0;
  let bestCandidates: number[] = [];
  let others: { state: S; prefix: number[] }[] = [];

  let entry = next[HEAD] as number;
  while (next[HEAD] !== NIL) {
    if ((++budget.steps & 1023) === 0 && performance.now() > budget.deadline) {
      return { kind: "unknown", reason: `timed out after ${budget.steps} search steps` };
    }
    if (budget.steps > budget.maxSteps)
      return { kind: "unknown", reason: `step budget of ${budget.maxSteps} exhausted` };
    if (!isReturn[entry]) {
      entry = tryLinearize(entry) ? (next[HEAD] as number) : (next[entry] as number);
      continue;
    }
    // Unknown operations' returns sort last: every known operation has been linearized.
    if (unknown[opOf[entry] as number]) return { kind: "ok" };
    const blockedAt = entry;
    // Nothing before this return can be linearized next: the operation had to take effect by now.
    if (stack.length > best) {
      best = stack.length;
      bestFrames = stack.map((f) => opOf[f.node] as number);
      bestState = state;
      bestBlocking = opOf[blockedAt] as number;
      bestCandidates = [];
      for (let node = next[HEAD] as number; node !== blockedAt; node = next[node] as number)
        bestCandidates.push(opOf[node] as number);
      others = [];
    } else if (
      opOf[blockedAt] === bestBlocking &&
      others.length < 3 &&
      !model.equal(state, bestState) &&
      !others.some((o) => model.equal(o.state, state))
    ) {
      others.push({ state, prefix: stack.map((f) => opOf[f.node] as number) });
    }
    const top = stack.pop();
    if (top === undefined) break;
    if (model.split) {
      const bits = linearized.slice();
      for (const member of model.split(state)) {
        const key = memberKey(member);
        const refuted = refutedMembers.get(key);
        if (refuted === undefined) refutedMembers.set(key, [{ bits, member }]);
        else refuted.push({ bits, member });
      }
    }
    state = top.state;
    flip(opOf[top.node] as number);
    list.unlift(top.node);
    entry = next[top.node] as number;
  }
  if (next[HEAD] === NIL) return { kind: "ok" };
  const pick = (id: number) => ops[id] as Operation<I, O>;
  return {
    kind: "violation",
    prefix: bestFrames.map(pick),
    state: bestState,
    others: others.map((o) => ({ state: o.state, prefix: o.prefix.map(pick) })),
    blocking: pick(bestBlocking),
    candidates: bestCandidates.map(pick),
  };
}

/** The event list: node 0 is the head sentinel, nodes 1..2n are call/return events in time order. */
function buildList<I, O>(ops: Operation<I, O>[]) {
  const n = ops.length;
  // Calls sort before returns at equal times, so touching operations count as concurrent.
  const events: number[] = [];
  for (let i = 0; i < n; i++) events.push(i * 2, i * 2 + 1);
  const timeOf = (e: number) => {
    const op = ops[e >> 1] as Operation<I, O>;
    return (e & 1) === 0 ? op.call : op.return;
  };
  events.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b);
  const size = 2 * n + 1;
  const next = new Int32Array(size);
  const prev = new Int32Array(size);
  const opOf = new Int32Array(size);
  const isReturn = new Uint8Array(size);
  const match = new Int32Array(size).fill(NIL);
  const returnNodeOf = new Int32Array(n);
  events.forEach((e, k) => {
    const node = k + 1;
    opOf[node] = e >> 1;
    isReturn[node] = e & 1;
    if (e & 1) returnNodeOf[e >> 1] = node;
    prev[node] = node - 1;
    next[node] = node + 1 < size ? node + 1 : NIL;
  });
  next[HEAD] = 1;
  prev[HEAD] = NIL;
  for (let node = 1; node < size; node++)
    if (!isReturn[node]) match[node] = returnNodeOf[opOf[node] as number] as number;

  const lift = (c: number) => {
    next[prev[c] as number] = next[c] as number;
    prev[next[c] as number] = prev[c] as number;
    const r = match[c] as number;
    next[prev[r] as number] = next[r] as number;
    if (next[r] !== NIL) prev[next[r] as number] = prev[r] as number;
  };
  const unlift = (c: number) => {
    const r = match[c] as number;
    next[prev[r] as number] = r;
    if (next[r] !== NIL) prev[next[r] as number] = r;
    next[prev[c] as number] = c;
    prev[next[c] as number] = c;
  };
  return { next, opOf, isReturn, lift, unlift };
}

/** Random 32-bit values per operation so the linearized-set hash updates in O(1) (Zobrist hashing). */
function zobristTable(n: number): Uint32Array {
  const table = new Uint32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    table[i] = (z ^ (z >>> 16)) >>> 0;
  }
  return table;
}
