import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Rng } from "../sim/rng.js";
import { type CheckResult, checkOperations, type Operation } from "./checker.js";
import {
  applyRequest,
  type EtcdRequest,
  type EtcdResponse,
  type EtcdState,
  etcdModel,
  initialEtcdState,
  type KeyValue,
} from "./etcd-model.js";
import { HistoryRecorder } from "./history.js";
import { simulate } from "./simulate.js";

type EtcdOp = Operation<EtcdRequest, EtcdResponse>;

const kv = (key: string, value: string, create: number, mod: number, version: number): KeyValue => ({
  key,
  value,
  createRevision: create,
  modRevision: mod,
  version,
});
const op = (
  clientId: number,
  input: EtcdRequest,
  output: EtcdResponse | undefined,
  call: number,
  ret: number,
): EtcdOp => ({
  clientId,
  input,
  output,
  call,
  return: output === undefined ? Number.POSITIVE_INFINITY : ret,
});
const put = (
  c: number,
  key: string,
  value: string,
  revision: number | undefined,
  call: number,
  ret: number,
) =>
  op(
    c,
    { type: "put", key, value },
    revision === undefined ? undefined : { type: "put", revision },
    call,
    ret,
  );
const get = (c: number, key: string, kvs: KeyValue[], revision: number, call: number, ret: number) =>
  op(c, { type: "get", key }, { type: "get", revision, kvs }, call, ret);

function violation(result: CheckResult<EtcdRequest, EtcdResponse>): string {
  assert.equal(result.ok, false, "expected a violation");
  return result.ok === false ? result.explanation : "";
}

describe("etcd model: checking histories", () => {
  const model = etcdModel();

  test("concurrent puts and reads that saw either order are linearizable", () => {
    const history = [
      put(1, "k1", "a", 2, 0, 10),
      put(2, "k1", "b", 3, 1, 9),
      get(3, "k1", [kv("k1", "a", 2, 2, 1)], 2, 2, 4),
      get(3, "k1", [kv("k1", "b", 2, 3, 2)], 3, 11, 12),
      op(4, { type: "delete", key: "nope" }, { type: "delete", revision: 3, deleted: 0 }, 11, 13),
    ];
    const result = checkOperations(model, history);
    assert.equal(result.ok, true, result.ok === false ? result.explanation : "");
  });

  test("a stale read is rejected, naming the write it missed", () => {
    const text = violation(
      checkOperations(model, [
        put(1, "k1", "a", 2, 0, 1),
        put(2, "k1", "b", 3, 2, 3),
        get(3, "k1", [kv("k1", "a", 2, 2, 1)], 2, 4, 5),
      ]),
    );
    assert.match(text, /stuck at client 3's get\(k1\) -> k1="a" \(mod 2\) @rev 2 at \[4\.0ms, 5\.0ms\]/);
    assert.match(
      text,
      /it read k1="a" \(create 2, mod 2, version 1\), but the model has k1="b" \(mod 3, last written by client 2's put\(k1, "b"\) -> ok @rev 3 at \[2\.0ms, 3\.0ms\]\)/,
    );
  });

  test("a lost acknowledged write is rejected", () => {
    const text = violation(checkOperations(model, [put(1, "k1", "a", 2, 0, 1), get(2, "k1", [], 2, 2, 3)]));
    assert.match(text, /it read no k1, but the model has k1="a"/);
  });

  test("a revision going backwards is rejected", () => {
    const history = [put(1, "k1", "a", 2, 0, 1), put(1, "k1", "b", 3, 2, 3), get(2, "k2", [], 2, 4, 5)];
    assert.match(
      violation(checkOperations(model, history)),
      /reports revision 2 but the store is at revision 3.*went backwards/,
    );
  });

  test("two writes given the same revision are rejected", () => {
    const history = [put(1, "k1", "a", 2, 0, 1), put(2, "k2", "b", 2, 2, 3)];
    assert.match(
      violation(checkOperations(model, history)),
      /revision 2 already belongs to client 1's put\(k1, "a"\)/,
    );
  });

  test("a txn whose succeeded flag contradicts the state is rejected", () => {
    const txn: EtcdRequest = {
      type: "txn",
      compare: [{ key: "k1", target: "value", op: "=", value: "a" }],
      success: [{ type: "put", key: "k1", value: "b" }],
      failure: [{ type: "get", key: "k1" }],
    };
    const lied = op(
      2,
      txn,
      {
        type: "txn",
        revision: 2,
        succeeded: false,
        results: [{ type: "get", kvs: [kv("k1", "a", 2, 2, 1)] }],
      },
      2,
      3,
    );
    const text = violation(checkOperations(model, [put(1, "k1", "a", 2, 0, 1), lied]));
    assert.match(
      text,
      /reports succeeded=false but the compares evaluate to true: value\(k1\) = "a" is true since the model has k1="a"/,
    );
    const honest = op(
      2,
      txn,
      { type: "txn", revision: 3, succeeded: true, results: [{ type: "put" }] },
      2,
      3,
    );
    assert.equal(checkOperations(model, [put(1, "k1", "a", 2, 0, 1), honest]).ok, true);
  });

  test("a read of a value nobody wrote is rejected", () => {
    const text = violation(
      checkOperations(model, [put(1, "k1", "a", 2, 0, 1), get(2, "k1", [kv("k1", "zzz", 2, 2, 1)], 2, 2, 3)]),
    );
    assert.match(text, /no operation linearized before it wrote k1="zzz"/);
  });

  test("an unknown-outcome write may be observed later, or may never have happened", () => {
    const lost = put(1, "k1", "a", undefined, 0, 0);
    assert.equal(checkOperations(model, [lost, get(2, "k1", [kv("k1", "a", 2, 2, 1)], 2, 50, 51)]).ok, true);
    assert.equal(
      checkOperations(model, [lost, get(2, "k1", [], 1, 50, 51), put(2, "k2", "b", 2, 52, 53)]).ok,
      true,
    );
    // Applied late: after another write, so it took revision 3.
    assert.equal(
      checkOperations(model, [
        lost,
        put(2, "k2", "b", 2, 1, 2),
        get(2, "k1", [kv("k1", "a", 3, 3, 1)], 3, 50, 51),
      ]).ok,
      true,
    );
    // But it cannot be observed and then vanish.
    const flip = [lost, get(2, "k1", [kv("k1", "a", 2, 2, 1)], 2, 50, 51), get(2, "k1", [], 2, 52, 53)];
    assert.equal(checkOperations(model, flip).ok, false);
  });

  test("a definitely failed write that is later observed is rejected; an unknown one is accepted", () => {
    for (const outcome of ["fail", "info"] as const) {
      let now = 0;
      const recorder = new HistoryRecorder<EtcdRequest, EtcdResponse>({ now: () => now });
      const w = recorder.invoke(1, { type: "put", key: "k1", value: "a" });
      now = 1;
      recorder[outcome](w);
      now = 2;
      const r = recorder.invoke(2, { type: "get", key: "k1" });
      now = 3;
      recorder.ok(r, { type: "get", revision: 2, kvs: [kv("k1", "a", 2, 2, 1)] });
      const result = checkOperations(model, recorder.operations());
      assert.equal(
        result.ok,
        outcome === "info",
        `${outcome}: ${result.ok === false ? result.explanation : ""}`,
      );
      const reloaded = HistoryRecorder.fromJSON<EtcdRequest, EtcdResponse>(recorder.toJSON()).operations();
      assert.deepEqual(reloaded, recorder.operations());
    }
  });
});

const KEYS = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"];

function generateRequest(rng: Rng, clientId: number): EtcdRequest {
  const key = rng.pick(KEYS);
  const value = `c${clientId}-${rng.int(1_000_000)}`;
  const roll = rng.float();
  if (roll < 0.4) return { type: "get", key };
  if (roll < 0.45) return { type: "get", key: "k", prefix: true };
  if (roll < 0.7) return { type: "put", key, value };
  if (roll < 0.8) return { type: "delete", key };
  if (roll < 0.9) {
    return {
      type: "txn",
      compare: [{ key, target: "create", op: "=", value: 0 }],
      success: [{ type: "put", key, value }],
      failure: [{ type: "get", key }],
    };
  }
  const other = rng.pick(KEYS);
  return {
    type: "txn",
    compare: [{ key, target: "version", op: ">", value: 1 }],
    success: [
      { type: "delete", key },
      { type: "put", key: other === key ? `${key}x` : other, value },
    ],
    failure: [{ type: "get", key: other }],
  };
}

function simulateEtcd(seed: number, clients: number, operations: number): EtcdOp[] {
  return simulate<EtcdState, EtcdRequest, EtcdResponse>({
    seed,
    clients,
    operations,
    initial: initialEtcdState(),
    infoRate: 0.03,
    failRate: 0.02,
    generate: generateRequest,
    apply: (state, input) => {
      const applied = applyRequest(state, input);
      return { state: applied.state, output: applied.response };
    },
  }).operations();
}

describe("etcd model: simulated histories", () => {
  test("simulated etcd histories pass; corrupting one read fails", () => {
    for (let seed = 1; seed <= 12; seed++) {
      const history = simulateEtcd(seed, 8, 250);
      const result = checkOperations(etcdModel(), history, { timeoutMs: 20_000 });
      assert.equal(result.ok, true, `seed ${seed}: ${result.ok === false ? result.explanation : result.ok}`);

      const reads = history.filter(
        (o) => o.input.type === "get" && !o.input.prefix && o.output !== undefined,
      );
      const victim = reads[(seed * 7) % reads.length] as EtcdOp;
      const key = (victim.input as { key: string }).key;
      const output = victim.output as Extract<EtcdResponse, { type: "get" }>;
      const corrupted: EtcdOp = { ...victim, output: { ...output, kvs: [kv(key, "impossible", 1, 1, 1)] } };
      const bad = checkOperations(
        etcdModel(),
        history.map((o) => (o === victim ? corrupted : o)),
        { timeoutMs: 20_000 },
      );
      assert.equal(bad.ok, false, `seed ${seed}: corrupted read was not rejected (${bad.ok})`);
      if (bad.ok === false) assert.match(bad.explanation, /impossible/);
    }
  });

  test("performance: 2,000 operations over 8 keys with 12 and 16 clients", (t) => {
    for (const clients of [12, 16]) {
      const history = simulateEtcd(1000 + clients, clients, 2000);
      const result = checkOperations(etcdModel(), history, { timeoutMs: 60_000 });
      assert.equal(result.ok, true, result.ok === false ? result.explanation : String(result.ok));
      const s = result.stats;
      t.diagnostic(
        `${clients} clients, ${history.length} ops: ${s.elapsedMs.toFixed(0)} ms, ${s.steps} steps, ${s.cacheEntries} cache entries`,
      );
    }
  });
});
