import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Compare,
  MvccError,
  type MvccErrorCode,
  MvccStore,
  type RequestOp,
  validateTxn,
} from "../../src/store/mvcc/index.js";

const b = (s: string) => Buffer.from(s);
const str = (u: Uint8Array) => Buffer.from(u).toString();
const put = (k: string, v = "v"): RequestOp => ({ requestPut: { key: b(k), value: b(v) } });
const get = (k: string, end?: string): RequestOp => ({
  requestRange: { key: b(k), rangeEnd: end ? b(end) : undefined },
});
const del = (k: string, end?: string | Buffer): RequestOp => ({
  requestDeleteRange: { key: b(k), rangeEnd: typeof end === "string" ? b(end) : end },
});

function throwsCode(fn: () => unknown, code: MvccErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof MvccError && e.code === code);
}

describe("mvcc txn compares", () => {
  function cmp(s: MvccStore, c: Compare): boolean {
    return s.txn({ compare: [c] }).succeeded;
  }

  test("each target and result on an existing key", () => {
    const s = new MvccStore();
    s.leaseGrant(5n, 60);
    s.put({ key: b("k"), value: b("m") }); // 2
    s.put({ key: b("k"), value: b("m"), lease: 5n }); // 3: version 2, create 2, mod 3
    const k = b("k");
    assert.equal(cmp(s, { key: k, target: "VALUE", result: "EQUAL", value: b("m") }), true);
    assert.equal(cmp(s, { key: k, target: "VALUE", result: "GREATER", value: b("a") }), true);
    assert.equal(cmp(s, { key: k, target: "VALUE", result: "LESS", value: b("a") }), false);
    assert.equal(cmp(s, { key: k, target: "VALUE", result: "NOT_EQUAL", value: b("m") }), false);
    assert.equal(cmp(s, { key: k, target: "VERSION", result: "EQUAL", version: 2 }), true);
    assert.equal(cmp(s, { key: k, target: "VERSION", result: "GREATER", version: 1 }), true);
    assert.equal(cmp(s, { key: k, target: "CREATE", result: "EQUAL", createRevision: 2 }), true);
    assert.equal(cmp(s, { key: k, target: "MOD", result: "EQUAL", modRevision: 3 }), true);
    assert.equal(cmp(s, { key: k, target: "MOD", result: "LESS", modRevision: 3 }), false);
    assert.equal(cmp(s, { key: k, target: "LEASE", result: "EQUAL", lease: 5n }), true);
    assert.equal(cmp(s, { key: k, target: "LEASE", result: "NOT_EQUAL", lease: 0n }), true);
  });

  test("a missing key: version/create/mod/lease compare as 0, any VALUE compare is false", () => {
    const s = new MvccStore();
    const k = b("missing");
    assert.equal(cmp(s, { key: k, target: "VERSION", result: "EQUAL", version: 0 }), true);
    assert.equal(cmp(s, { key: k, target: "CREATE", result: "EQUAL", createRevision: 0 }), true);
    assert.equal(cmp(s, { key: k, target: "MOD", result: "EQUAL", modRevision: 0 }), true);
    assert.equal(cmp(s, { key: k, target: "MOD", result: "LESS", modRevision: 1 }), true);
    assert.equal(cmp(s, { key: k, target: "LEASE", result: "EQUAL", lease: 0n }), true);
    assert.equal(cmp(s, { key: k, target: "VALUE", result: "EQUAL", value: b("") }), false);
    assert.equal(cmp(s, { key: k, target: "VALUE", result: "NOT_EQUAL", value: b("x") }), false);
  });

  test("a range compare must hold for every key in the range", () => {
    const s = new MvccStore();
    s.put({ key: b("p/a"), value: b("1") });
    s.put({ key: b("p/b"), value: b("2") });
    const r = { key: b("p/"), rangeEnd: b("p0") };
    assert.equal(cmp(s, { ...r, target: "VALUE", result: "GREATER", value: b("0") }), true);
    assert.equal(cmp(s, { ...r, target: "VALUE", result: "GREATER", value: b("1") }), false);
    assert.equal(cmp(s, { ...r, target: "CREATE", result: "GREATER", createRevision: 0 }), true);
  });

  test("kube-apiserver create/update/delete shapes", () => {
    const s = new MvccStore();
    const k = b("/registry/pods/ns/p");
    const create = () =>
      s.txn({
        compare: [{ key: k, target: "MOD", result: "EQUAL", modRevision: 0 }],
        success: [{ requestPut: { key: k, value: b("v1") } }],
        failure: [{ requestRange: { key: k } }],
      });
    const c1 = create();
    assert.equal(c1.succeeded, true);
    assert.equal(c1.revision, 2);
    assert.equal(c1.responses[0]!.responsePut!.revision, 2);
    const c2 = create();
    assert.equal(c2.succeeded, false);
    assert.equal(c2.revision, 2, "a read-only branch creates no revision");
    assert.equal(str(c2.responses[0]!.responseRange!.kvs[0]!.value), "v1");
    const upd = s.txn({
      compare: [{ key: k, target: "MOD", result: "EQUAL", modRevision: 2 }],
      success: [{ requestPut: { key: k, value: b("v2") } }],
      failure: [{ requestRange: { key: k } }],
    });
    assert.equal(upd.succeeded, true);
    assert.equal(upd.revision, 3);
    const rm = s.txn({
      compare: [{ key: k, target: "MOD", result: "EQUAL", modRevision: 3 }],
      success: [{ requestDeleteRange: { key: k, prevKv: true } }],
      failure: [{ requestRange: { key: k } }],
    });
    assert.equal(rm.responses[0]!.responseDeleteRange!.deleted, 1);
    assert.equal(str(rm.responses[0]!.responseDeleteRange!.prevKvs[0]!.value), "v2");
    assert.equal(rm.revision, 4);
  });
});

describe("mvcc txn execution", () => {
  test("all writes share one revision, with increasing sub-order, and reads see earlier writes", () => {
    const s = new MvccStore();
    s.put({ key: b("w"), value: b("gone soon") }); // 2
    s.put({ key: b("x"), value: b("old") }); // 3
    const r = s.txn({ success: [get("x"), put("x", "new"), put("y"), get("x"), del("w"), get("a", "z")] });
    assert.equal(r.revision, 4);
    assert.equal(s.revision, 4);
    assert.equal(str(r.responses[0]!.responseRange!.kvs[0]!.value), "old");
    assert.equal(r.responses[0]!.responseRange!.revision, 3);
    assert.equal(str(r.responses[3]!.responseRange!.kvs[0]!.value), "new");
    assert.equal(r.responses[3]!.responseRange!.kvs[0]!.modRevision, 4);
    assert.equal(r.responses[3]!.responseRange!.revision, 4);
    assert.equal(r.responses[4]!.responseDeleteRange!.deleted, 1);
    assert.deepEqual(
      r.responses[5]!.responseRange!.kvs.map((kv) => str(kv.key)),
      ["x", "y"],
    );
    assert.equal(s.range({ key: b("w") }).kvs.length, 0);
    assert.equal(str(s.range({ key: b("x"), revision: 3 }).kvs[0]!.value), "old");
    // Watchers see the txn's changes as one revision, in op order.
    const seen: string[] = [];
    s.watchHub.watch({ key: b("a"), rangeEnd: b("z"), startRevision: 4 }, (resp) => {
      seen.push(...resp.events.map((e) => `${e.type}:${str(e.kv.key)}`));
      return true;
    });
    s.watchHub.syncWatchers();
    assert.deepEqual(seen, ["PUT:x", "PUT:y", "DELETE:w"]);
  });

  test("nested txns: compares are all evaluated against the state before the txn", () => {
    const s = new MvccStore();
    const r = s.txn({
      compare: [],
      success: [
        put("a", "1"),
        {
          requestTxn: {
            // "a" does not exist before the txn, so this fails even though the outer put ran.
            compare: [{ key: b("a"), target: "VERSION", result: "EQUAL", version: 1 }],
            success: [put("then")],
            failure: [put("else"), { requestTxn: { success: [put("deep")] } }],
          },
        },
      ],
    });
    assert.equal(r.succeeded, true);
    const inner = r.responses[1]!.responseTxn!;
    assert.equal(inner.succeeded, false);
    assert.equal(inner.responses[1]!.responseTxn!.succeeded, true);
    const all = s.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }).kvs.map((kv) => str(kv.key));
    assert.deepEqual(all, ["a", "deep", "else"]);
    assert.equal(s.revision, 2);
  });

  test("an empty or read-only txn does not create a revision", () => {
    const s = new MvccStore();
    assert.equal(s.txn({}).revision, 1);
    assert.equal(s.txn({ success: [get("a"), del("nothing")] }).revision, 1);
    assert.equal(s.revision, 1);
  });

  test("failed checks leave the store untouched", () => {
    const s = new MvccStore();
    s.put({ key: b("a"), value: b("1") });
    throwsCode(
      () => s.txn({ success: [put("b"), { requestPut: { key: b("c"), value: b("v"), lease: 9n } }] }),
      "LEASE_NOT_FOUND",
    );
    throwsCode(
      () => s.txn({ success: [put("b"), { requestPut: { key: b("c"), ignoreValue: true } }] }),
      "KEY_NOT_FOUND",
    );
    throwsCode(
      () => s.txn({ success: [put("b"), { requestRange: { key: b("a"), revision: 50 } }] }),
      "FUTURE_REV",
    );
    s.compact(2);
    throwsCode(
      () => s.txn({ success: [put("b"), { requestRange: { key: b("a"), revision: 1 } }] }),
      "COMPACTED",
    );
    assert.equal(s.revision, 2);
    assert.equal(s.range({ key: b("b") }).kvs.length, 0);
  });

  test("a range inside a txn can read a past revision", () => {
    const s = new MvccStore();
    s.put({ key: b("a"), value: b("1") });
    s.put({ key: b("a"), value: b("2") });
    const r = s.txn({ success: [{ requestRange: { key: b("a"), revision: 2 } }] });
    assert.equal(str(r.responses[0]!.responseRange!.kvs[0]!.value), "1");
  });
});

describe("mvcc txn validation (etcd checkTxnRequest / checkIntervals)", () => {
  const check = (ops: RequestOp[], failure: RequestOp[] = [], max = 128) =>
    validateTxn({ success: ops, failure }, max);

  test("op limit is per level: max of compare/success/failure counts", () => {
    const ops = Array.from({ length: 128 }, (_, i) => put(`k${i}`));
    check(ops);
    throwsCode(() => check([...ops, put("one-more")]), "TOO_MANY_OPS");
    check(
      ops,
      ops.map((o) => o),
    ); // both branches at the limit is fine
    throwsCode(
      () => new MvccStore({ maxTxnOps: 2 }).txn({ success: [put("a"), put("b"), put("c")] }),
      "TOO_MANY_OPS",
    );
    // A nested txn only gets what the outer level leaves over.
    throwsCode(
      () => check([put("a"), put("b"), { requestTxn: { success: [put("c"), put("d")] } }], [], 4),
      "TOO_MANY_OPS",
    );
    check([put("a"), put("b"), { requestTxn: { success: [put("c")] } }], [], 4);
  });

  test("duplicate puts and puts inside deleted ranges", () => {
    throwsCode(() => check([put("a"), put("a")]), "DUPLICATE_KEY");
    throwsCode(() => check([del("a", "c"), put("b")]), "DUPLICATE_KEY");
    throwsCode(() => check([put("a"), del("a")]), "DUPLICATE_KEY");
    throwsCode(() => check([del("a"), { requestTxn: { success: [put("a")] } }]), "DUPLICATE_KEY");
    throwsCode(() => check([put("a"), { requestTxn: { failure: [del("a")] } }]), "DUPLICATE_KEY");
    throwsCode(
      () => check([{ requestTxn: { success: [put("a")] } }, { requestTxn: { success: [put("a")] } }]),
      "DUPLICATE_KEY",
    );
    throwsCode(
      () => check([{ requestTxn: { success: [del("a")] } }, { requestTxn: { success: [put("a")] } }]),
      "DUPLICATE_KEY",
    );
    throwsCode(() => check([del("a", Buffer.from([0])), put("b")]), "DUPLICATE_KEY");
    // Allowed: same key in then/else of one nested txn, puts outside a delete's range,
    // overlapping deletes, the same key in both top-level branches.
    check([{ requestTxn: { success: [put("a")], failure: [put("a")] } }]);
    check([del("a", "c"), put("c")]);
    check([del("a", "c"), del("b", "d")]);
    check([put("a")], [put("a")]);
    check([get("a"), put("a"), get("a")]);
  });

  test("empty keys and empty ops", () => {
    throwsCode(
      () => validateTxn({ compare: [{ key: b(""), target: "VERSION", result: "EQUAL" }] }, 128),
      "EMPTY_KEY",
    );
    throwsCode(() => check([put("")]), "EMPTY_KEY");
    throwsCode(() => check([{}]), "KEY_NOT_FOUND");
    throwsCode(
      () => check([{ requestPut: { key: b("a"), value: b("x"), ignoreValue: true } }]),
      "VALUE_PROVIDED",
    );
  });
});
