// The etcd v3 gRPC API over the real StoreServer, driven by the etcd3 npm client and, for
// requests etcd3 never sends, by a raw grpc-js client.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { waitFor } from "../support/require.js";
import { call, type Harness, startHarness } from "./harness.js";

const b = (s: string) => Buffer.from(s);

describe("etcd v3 gRPC API over StoreServer", () => {
  let h: Harness;
  let etcd: Etcd3;
  before(async () => {
    h = await startHarness({ maxRequestBytes: 64 * 1024 });
    etcd = new Etcd3({ hosts: `http://${h.endpoint}` });
  });
  after(async () => {
    etcd.close();
    await h.stop();
  });

  test("KV through the etcd3 client", async () => {
    await etcd.put("a/1").value("one");
    await etcd.put("a/2").value("two");
    assert.equal(await etcd.get("a/1").string(), "one");
    assert.deepEqual(await etcd.getAll().prefix("a/").strings(), { "a/1": "one", "a/2": "two" });
    const res = await etcd
      .if("a/1", "Value", "==", "one")
      .then(etcd.put("a/3").value("three"))
      .else(etcd.get("a/1"))
      .commit();
    assert.equal(res.succeeded, true);
    assert.equal(await etcd.get("a/3").string(), "three");
    assert.equal(
      await etcd
        .delete()
        .prefix("a/")
        .then((r) => r.deleted),
      "3",
    );
  });

  test("headers carry cluster, member, revision and term as etcd fills them", async () => {
    const kv = h.client("KV");
    const put = await call(kv, "Put", { key: b("hdr"), value: b("x") });
    const want = h.store.header();
    const header = (put.resp?.header ?? {}) as Record<string, string>;
    assert.equal(header.cluster_id, want.clusterId.toString());
    assert.equal(header.member_id, want.memberId.toString());
    assert.equal(header.revision, String(want.revision));
    assert.equal(header.raft_term, String(want.raftTerm));
    const txn = await call(kv, "Txn", { success: [{ request_range: { key: b("hdr") } }] });
    const inner = (txn.resp?.responses ?? []) as Record<string, Record<string, Record<string, string>>>[];
    assert.deepEqual(inner[0]?.response_range?.header, {
      cluster_id: "0",
      member_id: "0",
      revision: String(want.revision),
      raft_term: "0",
    });
  });

  test("validation errors carry etcd's codes and messages", async () => {
    const kv = h.client("KV");
    const cases: [string, object, grpc.status, string][] = [
      ["Range", { key: b("") }, grpc.status.INVALID_ARGUMENT, "etcdserver: key is not provided"],
      ["Put", { key: b("") }, grpc.status.INVALID_ARGUMENT, "etcdserver: key is not provided"],
      [
        "Put",
        { key: b("k"), value: b("v"), ignore_value: true },
        grpc.status.INVALID_ARGUMENT,
        "etcdserver: value is provided",
      ],
      [
        "Put",
        { key: b("k"), lease: "5", ignore_lease: true },
        grpc.status.INVALID_ARGUMENT,
        "etcdserver: lease is provided",
      ],
      ["DeleteRange", {}, grpc.status.INVALID_ARGUMENT, "etcdserver: key is not provided"],
      [
        "Txn",
        { success: Array.from({ length: 129 }, (_, i) => ({ request_put: { key: b(`k${i}`) } })) },
        grpc.status.INVALID_ARGUMENT,
        "etcdserver: too many operations in txn request",
      ],
      [
        "Txn",
        { success: [{ request_put: { key: b("d") } }, { request_put: { key: b("d") } }] },
        grpc.status.INVALID_ARGUMENT,
        "etcdserver: duplicate key given in txn request",
      ],
      ["Txn", { success: [{}] }, grpc.status.INVALID_ARGUMENT, "etcdserver: key not found"],
      [
        "Range",
        { key: b("k"), revision: "100000" },
        grpc.status.OUT_OF_RANGE,
        "etcdserver: mvcc: required revision is a future revision",
      ],
      [
        "Range",
        { key: b("k"), sort_target: 9 },
        grpc.status.INVALID_ARGUMENT,
        "etcdserver: invalid sort option",
      ],
      [
        "Put",
        { key: b("k"), lease: "12345" },
        grpc.status.NOT_FOUND,
        "etcdserver: requested lease not found",
      ],
      [
        "Put",
        { key: b("big"), value: Buffer.alloc(100 * 1024) },
        grpc.status.INVALID_ARGUMENT,
        "etcdserver: request is too large",
      ],
    ];
    for (const [method, req, code, message] of cases) {
      const { err } = await call(kv, method, req);
      assert.equal(err?.code, code, `${method} ${message}`);
      assert.equal(err?.details, message);
    }
    const auth = await call(h.client("Auth"), "Authenticate", { name: "root", password: "x" });
    assert.equal(auth.err?.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(auth.err?.details, "etcdserver: authentication is not enabled");
  });

  test("compaction: compacted reads fail with etcd's error", async () => {
    const kv = h.client("KV");
    await call(kv, "Put", { key: b("c"), value: b("1") });
    const second = await call(kv, "Put", { key: b("c"), value: b("2") });
    const rev = Number((second.resp?.header as Record<string, string> | undefined)?.revision);
    assert.ok((await call(kv, "Compact", { revision: String(rev) })).resp);
    const { err } = await call(kv, "Range", { key: b("c"), revision: String(rev - 1) });
    assert.equal(err?.code, grpc.status.OUT_OF_RANGE);
    assert.equal(err?.details, "etcdserver: mvcc: required revision has been compacted");
  });

  test("leases: grant, keep-alive, time-to-live with keys, revoke", async () => {
    const lease = etcd.lease(30, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put("leased").value("v");
    await lease.keepaliveOnce();
    const ttl = await call(h.client("Lease"), "LeaseTimeToLive", { ID: id, keys: true });
    assert.equal(ttl.resp?.grantedTTL, "30");
    assert.deepEqual(ttl.resp?.keys, [b("leased")]);
    await lease.revoke();
    assert.equal(await etcd.get("leased").string(), null);
    const gone = await call(h.client("Lease"), "LeaseTimeToLive", { ID: id });
    assert.equal(gone.resp?.TTL, "-1");
    const revoke = await call(h.client("Lease"), "LeaseRevoke", { ID: id });
    assert.equal(revoke.err?.details, "etcdserver: requested lease not found");
  });

  test("keep-alive stream answers an unknown lease with TTL 0", async () => {
    const stream = (
      h.client("Lease").LeaseKeepAlive as () => grpc.ClientDuplexStream<object, Record<string, string>>
    )();
    const got = new Promise<Record<string, string>>((resolve) => stream.once("data", resolve));
    stream.write({ ID: "424242" });
    const resp = await got;
    assert.equal(resp.ID, "424242");
    assert.equal(resp.TTL, "0");
    stream.end();
  });

  test("watch through etcd3 sees puts and deletes in order", async () => {
    const watcher = await etcd.watch().prefix("w/").create();
    const seen: string[] = [];
    watcher.on("put", (kv) => seen.push(`put ${kv.key.toString()}=${kv.value.toString()}`));
    watcher.on("delete", (kv) => seen.push(`delete ${kv.key.toString()}`));
    await etcd.put("w/1").value("a");
    await etcd.put("w/2").value("b");
    await etcd.delete().key("w/1");
    await waitFor(() => seen.length === 3, 5000, "3 watch events");
    assert.deepEqual(seen, ["put w/1=a", "put w/2=b", "delete w/1"]);
    await watcher.cancel();
  });

  test("raw watch stream: created first, history, ids, rejects, cancel, fragments", async () => {
    const kv = h.client("KV");
    const first = await call(kv, "Put", { key: b("f/0"), value: b("x") });
    const startRev = (first.resp?.header as Record<string, string> | undefined)?.revision;
    // 60 x 12 KiB values: a history response of ~720 KiB, over the fragment limit of
    // max-request-bytes (64 KiB) + etcd's 512 KiB gRPC overhead.
    for (let i = 1; i <= 60; i++)
      await call(kv, "Put", { key: b(`f/${i}`), value: Buffer.alloc(12 * 1024, i) });
    const stream = (
      h.client("Watch").Watch as () => grpc.ClientDuplexStream<object, Record<string, unknown>>
    )();
    const resps: Record<string, unknown>[] = [];
    stream.on("data", (r: Record<string, unknown>) => resps.push(r));
    stream.on("error", () => {}); // the client's own cancel at the end
    stream.write({
      create_request: {
        key: b("f/"),
        range_end: b("f0"),
        start_revision: startRev,
        fragment: true,
        watch_id: "7",
      },
    });
    await waitFor(
      () =>
        resps.some((r) => r.watch_id === "7" && r.fragment === false && (r.events as unknown[]).length > 0),
      5000,
      "fragments",
    );
    assert.equal(resps[0]?.created, true);
    assert.equal(resps[0]?.watch_id, "7");
    const parts = resps.filter((r) => r.watch_id === "7" && !r.created);
    assert.ok(parts.length >= 2, `expected a fragmented response, got ${parts.length} part(s)`);
    assert.ok(parts.slice(0, -1).every((p) => p.fragment === true));
    const keys = parts.flatMap((p) =>
      (p.events as { kv: { key: Buffer } }[]).map((e) => e.kv.key.toString()),
    );
    assert.deepEqual(
      keys,
      Array.from({ length: 61 }, (_, i) => `f/${i}`),
    );

    const n = resps.length;
    stream.write({ create_request: { key: b("z"), watch_id: "7" } }); // duplicate id
    stream.write({ create_request: { key: b("z"), range_end: b("a") } }); // empty range
    stream.write({ create_request: { key: b("z"), start_revision: "-1" } });
    stream.write({ create_request: { key: b("z") } }); // auto id: 0
    stream.write({ cancel_request: { watch_id: "7" } });
    await waitFor(() => resps.length >= n + 5, 5000, "control responses");
    const ctl = resps.slice(n);
    assert.deepEqual(
      ctl.map((r) => [r.watch_id, r.created, r.canceled, r.cancel_reason]),
      [
        ["-1", true, true, "mvcc: duplicate watch ID provided on the WatchStream"],
        ["-1", true, true, "mvcc: watcher range is empty"],
        ["-1", true, true, "etcdserver: mvcc: required revision has been compacted"],
        ["0", true, false, ""],
        ["7", false, true, ""],
      ],
    );
    stream.end();
    stream.cancel();
  });

  test("maintenance: status, member list, hashkv, alarms, defragment, snapshot", async () => {
    const m = h.client("Maintenance");
    const status = await call(m, "Status", {});
    assert.equal(status.resp?.version, "3.4.23");
    assert.equal(status.resp?.leader, h.store.header().memberId.toString());
    const members = await call(h.client("Cluster"), "MemberList", {});
    assert.equal((members.resp?.members as { name: string }[] | undefined)?.[0]?.name, "n1");
    assert.equal((members.resp?.header as Record<string, string> | undefined)?.revision, "0");
    assert.ok((await call(m, "HashKV", { revision: "0" })).resp?.hash);
    assert.deepEqual((await call(m, "Alarm", { action: 0 })).resp?.alarms, []);
    assert.ok((await call(m, "Defragment", {})).resp);

    const stream = (
      m.Snapshot as (r: object) => grpc.ClientReadableStream<{ blob: Buffer; remaining_bytes: string }>
    )({});
    const blobs: Buffer[] = [];
    for await (const r of stream) blobs.push(r.blob);
    const all = Buffer.concat(blobs);
    assert.equal(all.length % 512, 32, "etcdctl's hasChecksum: size % 512 == sha256 size");
    const body = all.subarray(0, all.length - 32);
    assert.deepEqual(all.subarray(all.length - 32), createHash("sha256").update(body).digest());
  });

  test("/health, /metrics and /version share the gRPC port", async () => {
    const health = await fetch(`http://${h.endpoint}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { health: "true" });
    const metrics = await (await fetch(`http://${h.endpoint}/metrics`)).text();
    assert.match(metrics, /etcd_server_has_leader 1/);
    assert.deepEqual(await (await fetch(`http://${h.endpoint}/version`)).json(), {
      etcdserver: "3.4.23",
      etcdcluster: "3.4.0",
    });
    assert.equal((await fetch(`http://${h.endpoint}/nope`)).status, 404);
  });
});
