import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type KeyValue, MvccError, type MvccErrorCode, MvccStore } from "../../src/store/mvcc/index.js";

const b = (s: string) => Buffer.from(s);
const str = (u: Uint8Array) => Buffer.from(u).toString();
const keys = (kvs: KeyValue[]) => kvs.map((kv) => str(kv.key));

function throwsCode(fn: () => unknown, code: MvccErrorCode, message?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MvccError, `expected MvccError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  });
}

describe("mvcc put/range/delete revisions", () => {
  test("a fresh store is at revision 1; each put is one revision", () => {
    const s = new MvccStore();
    assert.equal(s.revision, 1);
    assert.equal(s.put({ key: b("foo"), value: b("bar") }).revision, 2);
    assert.equal(s.put({ key: b("foo"), value: b("baz") }).revision, 3);
    assert.equal(s.put({ key: b("other"), value: b("x") }).revision, 4);
    const [kv] = s.range({ key: b("foo") }).kvs;
    assert.deepEqual(
      { c: kv!.createRevision, m: kv!.modRevision, v: kv!.version, val: str(kv!.value) },
      { c: 2, m: 3, v: 2, val: "baz" },
    );
  });

  test("delete ends a generation; re-put starts at version 1 with a new create revision", () => {
    const s = new MvccStore();
    s.put({ key: b("k"), value: b("1") }); // 2
    s.put({ key: b("k"), value: b("2") }); // 3
    const del = s.deleteRange({ key: b("k"), prevKv: true }); // 4
    assert.equal(del.revision, 4);
    assert.equal(del.deleted, 1);
    assert.equal(str(del.prevKvs[0]!.value), "2");
    assert.equal(s.range({ key: b("k") }).kvs.length, 0);
    s.put({ key: b("k"), value: b("3") }); // 5
    const kv = s.range({ key: b("k") }).kvs[0]!;
    assert.equal(kv.version, 1);
    assert.equal(kv.createRevision, 5);
    // Past revisions still readable.
    assert.equal(str(s.range({ key: b("k"), revision: 3 }).kvs[0]!.value), "2");
    assert.equal(s.range({ key: b("k"), revision: 4 }).kvs.length, 0);
    assert.equal(s.range({ key: b("k"), revision: 1 }).kvs.length, 0);
  });

  test("deleting nothing does not create a revision", () => {
    const s = new MvccStore();
    s.put({ key: b("a"), value: b("1") });
    const r = s.deleteRange({ key: b("zzz") });
    assert.deepEqual(r, { revision: 2, deleted: 0, prevKvs: [] });
    assert.equal(s.revision, 2);
  });

  test("putting an identical value still creates a revision", () => {
    const s = new MvccStore();
    s.put({ key: b("a"), value: b("1") });
    assert.equal(s.put({ key: b("a"), value: b("1") }).revision, 3);
  });

  test("range_end encodings: single key, [key,end), from-key, everything", () => {
    const s = new MvccStore();
    for (const k of ["a", "b", "b1", "c", "d"]) s.put({ key: b(k), value: b(k) });
    assert.deepEqual(keys(s.range({ key: b("b") }).kvs), ["b"]);
    assert.deepEqual(keys(s.range({ key: b("b"), rangeEnd: b("d") }).kvs), ["b", "b1", "c"]);
    assert.deepEqual(keys(s.range({ key: b("b"), rangeEnd: Buffer.from([0]) }).kvs), ["b", "b1", "c", "d"]);
    assert.deepEqual(keys(s.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }).kvs), [
      "a",
      "b",
      "b1",
      "c",
      "d",
    ]);
    assert.deepEqual(keys(s.range({ key: b("b"), rangeEnd: b("c") }).kvs), ["b", "b1"]); // prefix "b"
    assert.deepEqual(keys(s.range({ key: b("d"), rangeEnd: b("a") }).kvs), []);
    const del = s.deleteRange({ key: b("b"), rangeEnd: Buffer.from([0]) });
    assert.equal(del.deleted, 4);
    assert.deepEqual(keys(s.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }).kvs), ["a"]);
  });

  test("keys compare as unsigned bytes", () => {
    const s = new MvccStore();
    const ks = [Buffer.from([0x7f]), Buffer.from([0x80]), Buffer.from([0xff]), Buffer.from([0x01, 0x00])];
    for (const k of ks) s.put({ key: k, value: b("v") });
    const got = s.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }).kvs.map((kv) => kv.key[0]);
    assert.deepEqual(got, [0x01, 0x7f, 0x80, 0xff]);
  });

  test("limit, more and count", () => {
    const s = new MvccStore();
    for (let i = 0; i < 10; i++) s.put({ key: b(`k${i}`), value: b(`${i}`) });
    const r = s.range({ key: b("k"), rangeEnd: b("l"), limit: 3 });
    assert.deepEqual(keys(r.kvs), ["k0", "k1", "k2"]);
    assert.equal(r.more, true);
    assert.equal(r.count, 10);
    const all = s.range({ key: b("k"), rangeEnd: b("l"), limit: 10 });
    assert.equal(all.more, false);
    const c = s.range({ key: b("k"), rangeEnd: b("l"), countOnly: true });
    assert.deepEqual({ n: c.kvs.length, count: c.count, more: c.more }, { n: 0, count: 10, more: false });
    const ko = s.range({ key: b("k1"), keysOnly: true });
    assert.equal(ko.kvs[0]!.value.length, 0);
    assert.equal(ko.kvs[0]!.version, 1);
    // keysOnly must not damage the stored value
    assert.equal(str(s.range({ key: b("k1") }).kvs[0]!.value), "1");
  });

  test("sort order and target (NONE with a non-key target means ascending)", () => {
    const s = new MvccStore();
    s.put({ key: b("a"), value: b("3") }); // 2
    s.put({ key: b("b"), value: b("1") }); // 3
    s.put({ key: b("c"), value: b("2") }); // 4
    s.put({ key: b("a"), value: b("4") }); // 5: a has version 2, mod 5
    const q = { key: b("a"), rangeEnd: b("z") };
    assert.deepEqual(keys(s.range({ ...q, sortOrder: "DESCEND" }).kvs), ["c", "b", "a"]);
    assert.deepEqual(keys(s.range({ ...q, sortTarget: "VALUE" }).kvs), ["b", "c", "a"]);
    assert.deepEqual(keys(s.range({ ...q, sortTarget: "MOD", sortOrder: "DESCEND" }).kvs), ["a", "c", "b"]);
    assert.deepEqual(keys(s.range({ ...q, sortTarget: "CREATE", sortOrder: "DESCEND" }).kvs), [
      "c",
      "b",
      "a",
    ]);
    assert.deepEqual(keys(s.range({ ...q, sortTarget: "VERSION", sortOrder: "DESCEND" }).kvs)[0], "a");
    // sort happens before limit
    const top = s.range({ ...q, sortTarget: "MOD", sortOrder: "DESCEND", limit: 1 });
    assert.deepEqual(keys(top.kvs), ["a"]);
    assert.equal(top.more, true);
    assert.equal(top.count, 3);
  });

  test("min/max mod/create revision filters (count stays the unfiltered total, as etcd)", () => {
    const s = new MvccStore();
    for (const k of ["a", "b", "c", "d"]) s.put({ key: b(k), value: b(k) }); // 2..5
    s.put({ key: b("a"), value: b("a2") }); // 6
    const q = { key: b("a"), rangeEnd: b("z") };
    assert.deepEqual(keys(s.range({ ...q, minModRevision: 4 }).kvs), ["a", "c", "d"]);
    assert.deepEqual(keys(s.range({ ...q, maxModRevision: 4 }).kvs), ["b", "c"]);
    assert.deepEqual(keys(s.range({ ...q, minCreateRevision: 3, maxCreateRevision: 4 }).kvs), ["b", "c"]);
    const r = s.range({ ...q, minModRevision: 5, limit: 1 });
    assert.deepEqual(keys(r.kvs), ["a"]);
    assert.equal(r.more, true);
    assert.equal(r.count, 4);
  });

  test("reads at future or compacted revisions fail with etcd's messages", () => {
    const s = new MvccStore();
    for (let i = 0; i < 5; i++) s.put({ key: b("k"), value: b(`${i}`) }); // 2..6
    throwsCode(
      () => s.range({ key: b("k"), revision: 7 }),
      "FUTURE_REV",
      "mvcc: required revision is a future revision",
    );
    assert.equal(s.compact(4).revision, 6);
    assert.equal(s.compactRevision, 4);
    throwsCode(
      () => s.range({ key: b("k"), revision: 3 }),
      "COMPACTED",
      "mvcc: required revision has been compacted",
    );
    // The compact revision itself stays readable: the newest version at or below it is kept.
    assert.equal(str(s.range({ key: b("k"), revision: 4 }).kvs[0]!.value), "2");
    assert.equal(str(s.range({ key: b("k"), revision: 5 }).kvs[0]!.value), "3");
    throwsCode(() => s.compact(4), "COMPACTED");
    throwsCode(() => s.compact(3), "COMPACTED");
    throwsCode(() => s.compact(7), "FUTURE_REV");
    s.compact(6);
    assert.equal(str(s.range({ key: b("k") }).kvs[0]!.value), "4");
  });

  test("compaction drops deleted keys entirely and keeps live ones", () => {
    const s = new MvccStore();
    s.put({ key: b("gone"), value: b("x") }); // 2
    s.put({ key: b("live"), value: b("y") }); // 3
    s.deleteRange({ key: b("gone") }); // 4
    s.compact(4);
    assert.deepEqual(keys(s.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }).kvs), ["live"]);
    const before = s.size();
    for (let i = 0; i < 100; i++) s.put({ key: b("live"), value: Buffer.alloc(1000) });
    const grown = s.size();
    s.compact(s.revision);
    assert.ok(s.size() < grown && s.size() >= before, `size ${before} -> ${grown} -> ${s.size()}`);
  });

  test("ignoreValue / ignoreLease / prevKv", () => {
    const s = new MvccStore();
    throwsCode(() => s.put({ key: b("k"), ignoreValue: true }), "KEY_NOT_FOUND", "key not found");
    throwsCode(() => s.put({ key: b("k"), ignoreLease: true }), "KEY_NOT_FOUND");
    assert.equal(s.revision, 1);
    s.leaseGrant(7n, 100);
    s.put({ key: b("k"), value: b("v1"), lease: 7n });
    const r = s.put({ key: b("k"), ignoreValue: true, prevKv: true, lease: 7n });
    assert.equal(str(r.prevKv!.value), "v1");
    let kv = s.range({ key: b("k") }).kvs[0]!;
    assert.equal(str(kv.value), "v1");
    assert.equal(kv.lease, 7n);
    s.put({ key: b("k"), value: b("v2"), ignoreLease: true });
    kv = s.range({ key: b("k") }).kvs[0]!;
    assert.deepEqual([str(kv.value), kv.lease, kv.version], ["v2", 7n, 3]);
    throwsCode(
      () => s.put({ key: b("k"), value: b("x"), ignoreValue: true }),
      "VALUE_PROVIDED",
      "value is provided",
    );
    throwsCode(
      () => s.put({ key: b("k"), lease: 7n, ignoreLease: true }),
      "LEASE_PROVIDED",
      "lease is provided",
    );
    // a put without prevKv returns none
    assert.equal(s.put({ key: b("k"), value: b("v3") }).prevKv, undefined);
  });

  test("empty keys are rejected; unknown leases are rejected without a revision", () => {
    const s = new MvccStore();
    throwsCode(() => s.put({ key: b(""), value: b("v") }), "EMPTY_KEY", "key is not provided");
    throwsCode(() => s.range({ key: b("") }), "EMPTY_KEY");
    throwsCode(() => s.deleteRange({ key: b("") }), "EMPTY_KEY");
    throwsCode(() => s.put({ key: b("k"), value: b("v"), lease: 99n }), "LEASE_NOT_FOUND", "lease not found");
    assert.equal(s.revision, 1);
  });

  test("the store keeps reads of a past revision stable across later writes", () => {
    const s = new MvccStore();
    s.put({ key: b("a"), value: b("1") }); // 2
    s.put({ key: b("b"), value: b("1") }); // 3
    s.deleteRange({ key: b("a") }); // 4
    s.put({ key: b("c"), value: b("1") }); // 5
    assert.deepEqual(keys(s.range({ key: b("a"), rangeEnd: b("z"), revision: 3 }).kvs), ["a", "b"]);
    assert.deepEqual(keys(s.range({ key: b("a"), rangeEnd: b("z"), revision: 4 }).kvs), ["b"]);
    // header revision is the current one, as etcd
    assert.equal(s.range({ key: b("a"), revision: 3 }).revision, 5);
  });
});
