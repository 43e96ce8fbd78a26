// Unit tests of the proto <-> store mapping, etcd's request checks and the error table.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Metadata, status as Status } from "@grpc/grpc-js";
import * as codec from "../../src/etcdapi/codec.js";
import { ETCD_ERRORS, EtcdError, toStatus } from "../../src/etcdapi/errors.js";
import { validPeerUrls } from "../../src/etcdapi/maintenance.js";
import { type ApiContext, checkLeader } from "../../src/etcdapi/rpc.js";
import { checkIntervals, checkTxn } from "../../src/etcdapi/validate.js";
import { fragmentResponse } from "../../src/etcdapi/watch.js";
import { MvccError, type RequestOp } from "../../src/store/mvcc/types.js";
import { StoreError } from "../../src/store/server/errors.js";

const b = (s: string) => Buffer.from(s);

describe("codec", () => {
  test("range requests: int64 strings, enums by PascalCase name or number", () => {
    const r = codec.rangeRequest({
      key: b("a"),
      range_end: b(""),
      limit: "5",
      revision: "-3",
      sort_order: "Descend",
      sort_target: 3,
    });
    assert.equal(r.limit, 5);
    assert.equal(r.revision, -3);
    assert.equal(r.sortOrder, "DESCEND");
    assert.equal(r.sortTarget, "MOD");
    assert.equal(r.rangeEnd, undefined);
    assert.throws(() => codec.rangeRequest({ key: b("a"), sort_order: 7 }), /invalid sort option/);
  });

  test("compares read only the field of their target; ops map by oneof member", () => {
    const c = codec.compare({ result: "NotEqual", target: "Lease", key: b("k"), lease: "-9", version: "3" });
    assert.deepEqual(c, {
      result: "NOT_EQUAL",
      target: "LEASE",
      key: b("k"),
      rangeEnd: undefined,
      lease: -9n,
    });
    assert.deepEqual(codec.requestOp({}), {});
    const op = codec.requestOp({
      request_txn: { success: [{ request_delete_range: { key: b("x"), prev_kv: true } }] },
    });
    assert.deepEqual(op.requestTxn?.success?.[0], {
      requestDeleteRange: { key: b("x"), rangeEnd: undefined, prevKv: true },
    });
  });

  test("garbage field values read as defaults, never throw", () => {
    assert.equal(codec.intField("12abc"), 0);
    assert.equal(codec.bigField("1e3"), 0n);
    assert.equal(codec.bigField("18446744073709551615"), 18446744073709551615n);
    assert.deepEqual(codec.bytesField(undefined), new Uint8Array(0));
    assert.deepEqual(codec.watchFilters(["Noput", 1, 7, "bogus"]), ["NOPUT", "NODELETE"]);
  });

  test("headers are uint64/int64 decimal strings; nested txn headers carry only the revision", () => {
    assert.deepEqual(codec.header({ clusterId: 2n ** 64n - 1n, memberId: 7n, revision: 12, raftTerm: 3 }), {
      cluster_id: "18446744073709551615",
      member_id: "7",
      revision: "12",
      raft_term: "3",
    });
    const kv = { key: b("k"), createRevision: 2, modRevision: 4, version: 3, value: b("v"), lease: 5n };
    assert.deepEqual(codec.responseOp({ responseRange: { revision: 9, kvs: [kv], more: true, count: 4 } }), {
      response_range: {
        header: { revision: "9" },
        kvs: [
          { key: b("k"), create_revision: "2", mod_revision: "4", version: "3", value: b("v"), lease: "5" },
        ],
        more: true,
        count: "4",
      },
    });
    assert.deepEqual(codec.event({ type: "DELETE", kv }).type, 1);
  });
});

describe("errors", () => {
  test("etcd's rpctypes codes and messages (rpctypes/error.go)", () => {
    const etcd: Record<string, [Status, string]> = {
      EmptyKey: [Status.INVALID_ARGUMENT, "etcdserver: key is not provided"],
      KeyNotFound: [Status.INVALID_ARGUMENT, "etcdserver: key not found"],
      TooManyOps: [Status.INVALID_ARGUMENT, "etcdserver: too many operations in txn request"],
      DuplicateKey: [Status.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"],
      Compacted: [Status.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"],
      LeaseNotFound: [Status.NOT_FOUND, "etcdserver: requested lease not found"],
      NoLeader: [Status.UNAVAILABLE, "etcdserver: no leader"],
      AuthNotEnabled: [Status.FAILED_PRECONDITION, "etcdserver: authentication is not enabled"],
      RequestTooLarge: [Status.INVALID_ARGUMENT, "etcdserver: request is too large"],
    };
    for (const [name, [code, message]] of Object.entries(etcd)) {
      assert.deepEqual(ETCD_ERRORS[name as keyof typeof ETCD_ERRORS], { code, message }, name);
    }
  });

  test("store errors keep their status; unknown errors become INTERNAL, never a throw", () => {
    assert.deepEqual(
      [toStatus(new StoreError("FutureRev")).code, toStatus(new StoreError("FutureRev")).details],
      [Status.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"],
    );
    assert.equal(
      toStatus(new MvccError("COMPACTED")).details,
      "etcdserver: mvcc: required revision has been compacted",
    );
    assert.equal(toStatus(EtcdError.of("NoLeader")).code, Status.UNAVAILABLE);
    assert.equal(toStatus(new TypeError("boom")).code, Status.INTERNAL);
    assert.equal(toStatus("not even an error").code, Status.INTERNAL);
  });
});

describe("etcd's txn checks", () => {
  const put = (k: string): RequestOp => ({ requestPut: { key: b(k) } });
  const del = (k: string, end?: string): RequestOp => ({
    requestDeleteRange: { key: b(k), rangeEnd: end ? b(end) : undefined },
  });
  const dup = /duplicate key given in txn request/;

  test("overlapping puts and deletes are rejected, also through nested txns", () => {
    assert.throws(() => checkIntervals([put("a"), put("a")]), dup);
    assert.throws(() => checkIntervals([del("a", "c"), put("b")]), dup);
    assert.throws(() => checkIntervals([put("a"), { requestTxn: { success: [put("a")] } }]), dup);
    assert.throws(() => checkIntervals([del("a"), { requestTxn: { failure: [put("a")] } }]), dup);
    checkIntervals([del("a", "c"), put("c"), put("d")]);
    checkIntervals([{ requestTxn: { success: [put("a")], failure: [put("a")] } }]);
    // etcd's affine intervals: a from-key delete (range_end "\0") overlaps no put.
    checkIntervals([{ requestDeleteRange: { key: b("a"), rangeEnd: new Uint8Array([0]) } }, put("b")]);
  });

  test("op limits count per level, as etcd", () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => put(`k${i}`));
    checkTxn({ success: many(128), failure: many(128) }, 128);
    assert.throws(() => checkTxn({ compare: [], success: many(129) }, 128), /too many operations/);
    assert.throws(
      () => checkTxn({ success: [{ requestTxn: { success: many(2) } }, ...many(127)] }, 128),
      /too many/,
    );
    assert.throws(
      () => checkTxn({ compare: [{ result: "EQUAL", target: "VERSION", key: b("") }] }, 128),
      /key is not provided/,
    );
  });
});

describe("watch fragments and member URLs", () => {
  test("a large multi-event response is split below the limit, last part unflagged", () => {
    const events = Array.from({ length: 10 }, (_, i) =>
      codec.event({
        type: "PUT",
        kv: {
          key: b(`k${i}`),
          createRevision: 1,
          modRevision: 1,
          version: 1,
          value: Buffer.alloc(1000),
          lease: 0n,
        },
      }),
    );
    const parts = fragmentResponse({ watch_id: "1" }, events, 2500);
    assert.ok(parts.length >= 4);
    assert.deepEqual(
      parts.map((p) => p.fragment),
      [...parts.slice(1).map(() => true), false],
    );
    assert.equal(parts.flatMap((p) => p.events as unknown[]).length, 10);
    assert.equal(fragmentResponse({}, events.slice(0, 1), 10).length, 1);
  });

  test("peer URLs must be scheme://host:port without a path", () => {
    assert.equal(validPeerUrls(["http://10.0.0.1:2380", "https://[::1]:2380"]), true);
    assert.equal(validPeerUrls([]), false);
    assert.equal(validPeerUrls(["http://10.0.0.1"]), false);
    assert.equal(validPeerUrls(["http://a:1/path"]), false);
    assert.equal(validPeerUrls(["ftp://a:1"]), false);
  });
});

test("`hasleader: true` metadata fails fast with etcd's no-leader error when there is none", () => {
  const ctx = (hasLeader: boolean) => ({ service: { hasLeader: () => hasLeader } }) as unknown as ApiContext;
  const md = new Metadata();
  md.set("hasleader", "true");
  assert.throws(() => checkLeader(ctx(false), { metadata: md }), /etcdserver: no leader/);
  checkLeader(ctx(true), { metadata: md });
  checkLeader(ctx(false), { metadata: new Metadata() });
});
