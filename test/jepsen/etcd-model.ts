// The checker model for etcd KV histories. Requests with an unknown outcome fork the state
// (applied or not), so the model's state is a set of possible etcd states, deduplicated, as in
// etcd's robustness NonDeterministicModel; a response keeps only the states that explain it.
// Txns span keys, so the model does not partition the history.

import type { Model } from "./checker.js";
import { describeRequest, describeResponse, describeStates, explainMismatch } from "./etcd-describe.js";
import {
  applyRequest,
  type EtcdModelOptions,
  type EtcdRequest,
  type EtcdResponse,
  type EtcdState,
  initialEtcdState,
  isReadOnly,
  mix,
  responsesEqual,
  statesEqual,
} from "./etcd-kv.js";

export * from "./etcd-kv.js";

/** The set of etcd states the history so far allows: distinct members, order-independent hash. */
export interface EtcdStates {
  readonly states: readonly EtcdState[];
  readonly hash: number;
}

/** Deduplicates and orders the members (by revision, then hash) so equal sets line up. */
export function stateSet(states: readonly EtcdState[]): EtcdStates {
  const distinct: EtcdState[] = [];
  for (const s of states) if (!distinct.some((d) => statesEqual(d, s))) distinct.push(s);
  distinct.sort((a, b) => a.revision - b.revision || a.hash - b.hash);
  let hash = 0;
  for (const s of distinct) hash = (hash + mix(s.hash)) >>> 0;
  return { states: distinct, hash };
}

export function stateSetsEqual(a: EtcdStates, b: EtcdStates): boolean {
  if (a === b) return true;
  if (a.hash !== b.hash || a.states.length !== b.states.length) return false;
  return a.states.every((s) => b.states.some((o) => statesEqual(s, o)));
}

const singletons = new WeakMap<EtcdState, EtcdStates>();

function singleton(state: EtcdState): EtcdStates {
  let set = singletons.get(state);
  if (set === undefined) {
    set = stateSet([state]);
    singletons.set(state, set);
  }
  return set;
}

/** Steps every possible state; undefined when no possible state explains the observed response. */
export function stepStates(
  current: EtcdStates,
  request: EtcdRequest,
  response: EtcdResponse | undefined,
): EtcdStates | undefined {
  if (response === undefined) {
    // Unknown outcome: either it never happened or it happened with a response nobody saw.
    if (isReadOnly(request)) return current;
    const forked: EtcdState[] = [];
    let changed = false;
    for (const s of current.states) {
      const applied = applyRequest(s, request).state;
      forked.push(s, applied);
      if (applied !== s) changed = true;
    }
    return changed ? stateSet(forked) : current;
  }
  if (request.type === "get" && !request.prefix) {
    if (response.type !== "get") return undefined;
    const matching = current.states.filter((s) => getMatches(s, request.key, response));
    if (matching.length === current.states.length) return current;
    return matching.length === 0 ? undefined : stateSet(matching);
  }
  const survivors: EtcdState[] = [];
  let unchanged = true;
  for (const s of current.states) {
    const applied = applyRequest(s, request);
    if (!responsesEqual(applied.response, response)) {
      unchanged = false;
      continue;
    }
    if (applied.state !== s) unchanged = false;
    survivors.push(applied.state);
  }
  if (survivors.length === 0) return undefined;
  return unchanged ? current : stateSet(survivors);
}

function getMatches(
  state: EtcdState,
  key: string,
  response: Extract<EtcdResponse, { type: "get" }>,
): boolean {
  if (response.revision !== state.revision) return false;
  const m = state.kvs.get(key);
  if (m === undefined) return response.kvs.length === 0;
  const kv = response.kvs[0];
  return (
    response.kvs.length === 1 &&
    kv !== undefined &&
    kv.key === key &&
    kv.value === m.value &&
    kv.modRevision === m.modRevision &&
    kv.createRevision === m.createRevision &&
    kv.version === m.version
  );
}

export type EtcdModel = Model<EtcdStates, EtcdRequest, EtcdResponse>;

/** The checker model for etcd KV histories. Txns span keys, so it does not partition. */
export function etcdModel(options: EtcdModelOptions = {}): EtcdModel {
  const initial = stateSet([initialEtcdState(options)]);
  return {
    init: () => initial,
    step: stepStates,
    hash: (s) => s.hash,
    equal: stateSetsEqual,
    split: (s) => (s.states.length === 1 ? [s] : s.states.map(singleton)),
    describeOperation: (input, output) => `${describeRequest(input)} -> ${describeResponse(output)}`,
    describeState: (s) => describeStates(s.states),
    explainIllegal: (s, op, prefix, describe) => explainMismatch(s.states, op, prefix, describe),
  };
}
