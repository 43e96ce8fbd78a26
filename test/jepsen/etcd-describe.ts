// Words for the etcd model: how requests, responses and states read in a checker report, and
// why an observed response is impossible in a state, citing the operation that last wrote a key.

import type { Operation } from "./checker.js";
import {
  applyRequest,
  type Compare,
  type EtcdRequest,
  type EtcdResponse,
  type EtcdState,
  evaluateCompare,
  type KeyValue,
  type TxnOp,
  type TxnOpResult,
} from "./etcd-kv.js";

type EtcdOperation = Operation<EtcdRequest, EtcdResponse>;
type Describe = (op: EtcdOperation) => string;

const quote = (text: string) => JSON.stringify(text);

function describeOp(op: TxnOp): string {
  const target = (r: { key: string; prefix?: boolean }) => (r.prefix ? `prefix ${quote(r.key)}` : r.key);
  if (op.type === "put") return `put(${op.key}, ${quote(op.value)})`;
  return `${op.type}(${target(op)})`;
}

function describeCompare(c: Compare): string {
  const value = c.target === "value" ? quote(String(c.value)) : String(c.value);
  return `${c.target}(${c.key}) ${c.op} ${value}`;
}

export function describeRequest(request: EtcdRequest): string {
  if (request.type !== "txn") return describeOp(request);
  const branch = (ops: TxnOp[]) => (ops.length === 0 ? "nothing" : ops.map(describeOp).join(", "));
  const conditions =
    request.compare.length === 0 ? "true" : request.compare.map(describeCompare).join(" and ");
  return `txn(if ${conditions} then ${branch(request.success)} else ${branch(request.failure)})`;
}

function describeKvs(kvs: readonly KeyValue[]): string {
  if (kvs.length === 0) return "nothing";
  return kvs.map((kv) => `${kv.key}=${quote(kv.value)} (mod ${kv.modRevision})`).join(", ");
}

function describeOpResult(result: TxnOpResult): string {
  if (result.type === "get") return describeKvs(result.kvs);
  if (result.type === "delete") return `deleted ${result.deleted}`;
  return "ok";
}

export function describeResponse(response: EtcdResponse | undefined): string {
  if (response === undefined) return "unknown outcome";
  switch (response.type) {
    case "get":
      return `${describeKvs(response.kvs)} @rev ${response.revision}`;
    case "put":
      return `ok @rev ${response.revision}`;
    case "delete":
      return `deleted ${response.deleted} @rev ${response.revision}`;
    case "txn": {
      const results = response.results.map(describeOpResult).join("; ");
      return `${response.succeeded ? "succeeded" : "failed"} [${results}] @rev ${response.revision}`;
    }
  }
}

function describeState(state: EtcdState): string {
  const keys = [...state.kvs].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const body = keys.map(
    ([k, m]) =>
      `${k}=${quote(m.value)} (create ${m.createRevision}, mod ${m.modRevision}, version ${m.version})`,
  );
  return `revision ${state.revision}: ${body.length === 0 ? "no keys" : body.join(", ")}`;
}

export function describeStates(states: readonly EtcdState[]): string {
  if (states.length === 1) return describeState(states[0] as EtcdState);
  const shown = states.slice(0, 3).map((s, i) => `(${i + 1}) ${describeState(s)}`);
  if (states.length > 3) shown.push(`... ${states.length - 3} more`);
  return `one of ${states.length} possible states: ${shown.join("; ")}`;
}

/** Why `op`'s response is impossible in every one of `states`. */
export function explainMismatch(
  states: readonly EtcdState[],
  op: EtcdOperation,
  prefix: readonly EtcdOperation[],
  describe: Describe,
): string {
  if (states.length === 1) return explainInState(states[0] as EtcdState, op, prefix, describe);
  // Possible states often disagree with the response for the same reason; say each reason once.
  const reasons = [...new Set(states.slice(0, 16).map((s) => explainInState(s, op, prefix, describe)))];
  const count = `none of the ${states.length} possible states explains it`;
  if (reasons.length === 1) return `${count}: in each, ${reasons[0]}`;
  const shown = reasons.slice(0, 3).map((r, i) => `(${i + 1}) ${r}`);
  if (reasons.length > 3) shown.push(`... and ${reasons.length - 3} more reasons`);
  return `${count}: ${shown.join("; ")}`;
}

function explainInState(
  state: EtcdState,
  op: EtcdOperation,
  prefix: readonly EtcdOperation[],
  describe: Describe,
): string {
  const actual = op.output;
  if (actual === undefined) return "it has an unknown outcome, which every state allows";
  const request = op.input;
  const expected = applyRequest(state, request).response;
  if (actual.type !== expected.type)
    return `the response is shaped for ${actual.type}, but the request is a ${request.type}`;
  const cite = (key: string) => keyFacts(key, state, prefix, describe);
  const wrote = (key: string, value: string) =>
    prefix.some((p) => writesValue(p.input, key, value)) || writesValue(request, key, value);
  if (actual.type === "get" && expected.type === "get") {
    const diff = kvsDifference(actual.kvs, expected.kvs, cite, wrote);
    if (diff) return `it read ${diff}`;
  }
  if (actual.type === "delete" && expected.type === "delete" && actual.deleted !== expected.deleted) {
    return `it deleted ${actual.deleted} key(s) but ${expected.deleted} existed (${describeState(state)})`;
  }
  if (actual.type === "txn" && expected.type === "txn" && request.type === "txn") {
    if (actual.succeeded !== expected.succeeded) {
      const facts = request.compare.map(
        (c) => `${describeCompare(c)} is ${evaluateCompare(state, c)} since ${cite(c.key)}`,
      );
      return `it reports succeeded=${actual.succeeded} but the compares evaluate to ${expected.succeeded}: ${facts.join("; ")}`;
    }
    for (let i = 0; i < expected.results.length; i++) {
      const a = actual.results[i];
      const e = expected.results[i] as TxnOpResult;
      if (a === undefined)
        return `it returned ${actual.results.length} results for ${expected.results.length} ops`;
      if (a.type === "get" && e.type === "get") {
        const diff = kvsDifference(a.kvs, e.kvs, cite, wrote);
        if (diff) return `its op ${i + 1} read ${diff}`;
      } else if (a.type === "delete" && e.type === "delete" && a.deleted !== e.deleted) {
        return `its op ${i + 1} deleted ${a.deleted} key(s) but ${e.deleted} existed`;
      } else if (a.type !== e.type) {
        return `its op ${i + 1} result is a ${a.type} but the op is a ${e.type}`;
      }
    }
    if (actual.results.length !== expected.results.length) {
      return `it returned ${actual.results.length} results for ${expected.results.length} ops`;
    }
  }
  if (actual.revision !== expected.revision)
    return explainRevision(state, op, expected.revision, prefix, describe);
  return "its response does not match the model's";
}

function explainRevision(
  state: EtcdState,
  op: EtcdOperation,
  expected: number,
  prefix: readonly EtcdOperation[],
  describe: Describe,
): string {
  const actual = (op.output as EtcdResponse).revision;
  const writes = expected !== state.revision;
  let text = writes
    ? `it reports revision ${actual} but the store is at revision ${state.revision}, so this write must get revision ${expected}`
    : `it reports revision ${actual} but the store is at revision ${state.revision} and this request changes nothing`;
  if (actual < state.revision) text += " (the revision went backwards)";
  const same = prefix.find(
    (p) => p !== op && p.output !== undefined && p.output.revision === actual && !readOnlyResponse(p),
  );
  if (writes && same) text += `; revision ${actual} already belongs to ${describe(same)}`;
  return text;
}

function readOnlyResponse(op: EtcdOperation): boolean {
  return (
    op.input.type === "get" || (op.output?.type === "txn" && op.output.results.every((r) => r.type === "get"))
  );
}

/** The first key whose observed value differs from the model's, in words; "" when they agree. */
function kvsDifference(
  actual: readonly KeyValue[],
  expected: readonly KeyValue[],
  cite: (key: string) => string,
  wrote: (key: string, value: string) => boolean,
): string {
  const keys = [...new Set([...actual.map((kv) => kv.key), ...expected.map((kv) => kv.key)])].sort();
  for (const key of keys) {
    const a = actual.find((kv) => kv.key === key);
    const e = expected.find((kv) => kv.key === key);
    const same =
      a !== undefined &&
      e !== undefined &&
      a.value === e.value &&
      a.modRevision === e.modRevision &&
      a.createRevision === e.createRevision &&
      a.version === e.version;
    if (same) continue;
    if (a === undefined) return `no ${key}, but ${cite(key)}`;
    const saw = `${key}=${quote(a.value)} (create ${a.createRevision}, mod ${a.modRevision}, version ${a.version})`;
    const never = wrote(key, a.value)
      ? ""
      : ` (no operation linearized before it wrote ${key}=${quote(a.value)})`;
    return `${saw}${never}, but ${cite(key)}`;
  }
  return "";
}

/** What the model state says about `key`: its value and who wrote it, or who deleted it. */
function keyFacts(
  key: string,
  state: EtcdState,
  prefix: readonly EtcdOperation[],
  describe: Describe,
): string {
  const current = state.kvs.get(key);
  const writers = prefix.filter((p) => writesKey(p.input, key));
  if (current !== undefined) {
    const rev = current.modRevision;
    const writer =
      [...writers].reverse().find((p) => p.output !== undefined && p.output.revision === rev) ??
      [...writers].reverse().find((p) => p.output === undefined);
    const who = writer ? `last written by ${describe(writer)}` : "present in the initial state";
    return `the model has ${key}=${quote(current.value)} (mod ${rev}, ${who})`;
  }
  const last = writers[writers.length - 1];
  return last
    ? `the model has no ${key} (last touched by ${describe(last)})`
    : `the model has no ${key} (never written)`;
}

function writesKey(request: EtcdRequest, key: string): boolean {
  const ops: TxnOp[] = request.type === "txn" ? [...request.success, ...request.failure] : [request];
  return ops.some(
    (op) =>
      op.type !== "get" &&
      (op.key === key || (op.type === "delete" && op.prefix === true && key.startsWith(op.key))),
  );
}

function writesValue(request: EtcdRequest, key: string, value: string): boolean {
  const ops: TxnOp[] = request.type === "txn" ? [...request.success, ...request.failure] : [request];
  return ops.some((op) => op.type === "put" && op.key === key && op.value === value);
}
