import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  applyRequest,
  type EtcdRequest,
  type EtcdState,
  initialEtcdState,
  type KeyValue,
} from "./etcd-kv.js";
import { stateSet, stepStates } from "./etcd-model.js";

const kv = (key: string, value: string, create: number, mod: number, version: number): KeyValue => ({
  key,
  value,
  createRevision: create,
  modRevision: mod,
  version,
});

describe("etcd model: sequential semantics", () => {
  test("puts bump the revision and track create/mod revisions and versions", () => {
    let s: EtcdState = initialEtcdState();
    const step = (request: EtcdRequest) => {
      const r = applyRequest(s, request);
      s = r.state;
      return r.response;
    };
    assert.deepEqual(step({ type: "put", key: "a", value: "1" }), { type: "put", revision: 2 });
    assert.deepEqual(step({ type: "put", key: "a", value: "2" }), { type: "put", revision: 3 });
    assert.deepEqual(step({ type: "get", key: "a" }), {
      type: "get",
      revision: 3,
      kvs: [kv("a", "2", 2, 3, 2)],
    });
    assert.deepEqual(step({ type: "delete", key: "b" }), { type: "delete", revision: 3, deleted: 0 });
    assert.deepEqual(step({ type: "delete", key: "a" }), { type: "delete", revision: 4, deleted: 1 });
    assert.deepEqual(step({ type: "put", key: "a", value: "3" }), { type: "put", revision: 5 });
    assert.deepEqual(step({ type: "get", key: "a" }).type === "get" && s.kvs.get("a"), {
      value: "3",
      createRevision: 5,
      modRevision: 5,
      version: 1,
    });
  });

  test("prefix ranges return sorted keys and prefix deletes count every key", () => {
    const s = initialEtcdState({
      revision: 7,
      kvs: [kv("p/b", "x", 3, 3, 1), kv("p/a", "y", 5, 6, 2), kv("q", "z", 7, 7, 1)],
    });
    const listed = applyRequest(s, { type: "get", key: "p/", prefix: true }).response;
    assert.deepEqual(listed, {
      type: "get",
      revision: 7,
      kvs: [kv("p/a", "y", 5, 6, 2), kv("p/b", "x", 3, 3, 1)],
    });
    assert.deepEqual(applyRequest(s, { type: "delete", key: "p/", prefix: true }).response, {
      type: "delete",
      revision: 8,
      deleted: 2,
    });
  });

  test("txn compares follow etcd, writes share one revision, read-only txns do not bump it", () => {
    const s = initialEtcdState({ revision: 4, kvs: [kv("a", "x", 2, 4, 3)] });
    const txn = (compare: Extract<EtcdRequest, { type: "txn" }>["compare"]) =>
      applyRequest(s, { type: "txn", compare, success: [{ type: "put", key: "b", value: "1" }], failure: [] })
        .response;
    assert.equal(
      (txn([{ key: "missing", target: "value", op: "!=", value: "q" }]) as { succeeded: boolean }).succeeded,
      false,
    );
    assert.equal(
      (txn([{ key: "missing", target: "create", op: "=", value: 0 }]) as { succeeded: boolean }).succeeded,
      true,
    );
    assert.equal(
      (txn([{ key: "a", target: "mod", op: "<", value: 5 }]) as { succeeded: boolean }).succeeded,
      true,
    );
    assert.equal(
      (txn([{ key: "a", target: "version", op: ">", value: 3 }]) as { succeeded: boolean }).succeeded,
      false,
    );
    assert.equal(
      (txn([{ key: "a", target: "value", op: ">", value: "w" }]) as { succeeded: boolean }).succeeded,
      true,
    );
    const both = applyRequest(s, {
      type: "txn",
      compare: [],
      success: [
        { type: "put", key: "a", value: "y" },
        { type: "put", key: "c", value: "z" },
        { type: "get", key: "a" },
      ],
      failure: [],
    }).response;
    assert.deepEqual(both, {
      type: "txn",
      revision: 5,
      succeeded: true,
      results: [{ type: "put" }, { type: "put" }, { type: "get", kvs: [kv("a", "y", 2, 5, 4)] }],
    });
    const readOnly = applyRequest(s, {
      type: "txn",
      compare: [],
      success: [{ type: "get", key: "a" }],
      failure: [],
    });
    assert.equal(readOnly.state, s);
    assert.equal(readOnly.response.revision, 4);
  });

  test("unknown outcomes fork the state set, responses filter it", () => {
    const start = stateSet([initialEtcdState()]);
    const forked = stepStates(start, { type: "put", key: "a", value: "1" }, undefined);
    assert.equal(forked?.states.length, 2);
    assert.equal(stepStates(start, { type: "delete", key: "a" }, undefined), start);
    assert.equal(stepStates(start, { type: "get", key: "a" }, undefined), start);
    const seen = stepStates(
      forked as typeof start,
      { type: "get", key: "a" },
      { type: "get", revision: 2, kvs: [kv("a", "1", 2, 2, 1)] },
    );
    assert.equal(seen?.states.length, 1);
    const unseen = stepStates(
      forked as typeof start,
      { type: "put", key: "b", value: "2" },
      { type: "put", revision: 2 },
    );
    assert.equal(unseen?.states.length, 1);
    assert.equal(
      stepStates(start, { type: "put", key: "b", value: "2" }, { type: "put", revision: 3 }),
      undefined,
    );
  });
});
