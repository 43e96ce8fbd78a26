import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeRequest, encodeRequest, type InternalRequest } from "../../src/store/server/requestcodec.js";
import { StoreServer } from "../../src/store/server/server.js";
import { ProposalWaiters } from "../../src/store/server/waiters.js";
import { b, ManualClock, quietLog, tempDir } from "./support/server.js";

test("requests round-trip through the log encoding", () => {
  const cases: InternalRequest[] = [
    { kind: "put", req: { key: b("k"), value: b("v"), lease: 42n, prevKv: true } },
    { kind: "put", req: { key: b("k"), ignoreValue: true, ignoreLease: true } },
    { kind: "put", req: { key: b("k"), value: b(""), lease: -5n } },
    { kind: "deleteRange", req: { key: b("a"), rangeEnd: b("b"), prevKv: true } },
    {
      kind: "txn",
      req: {
        compare: [{ key: b("a"), target: "LEASE", result: "EQUAL", lease: 9007199254740993n }],
        success: [{ requestPut: { key: b("x"), value: Buffer.from([0, 255, 1]) } }],
        failure: [{ requestTxn: { success: [{ requestRange: { key: b("y"), limit: 3 } }] } }],
      },
    },
    { kind: "compact", req: { revision: 17 } },
    { kind: "leaseGrant", req: { id: 2n ** 62n, ttl: 5 } },
    { kind: "alarm", req: { action: "activate", memberId: 2n ** 63n + 5n, alarm: "NOSPACE" } },
  ];
  for (const [i, request] of cases.entries()) {
    const decoded = decodeRequest(encodeRequest(2 ** 52 + 3, 1000 + i, request));
    assert.equal(decoded.member, 2 ** 52 + 3);
    assert.equal(decoded.id, 1000 + i);
    assert.deepEqual(normalize(decoded.request), normalize(request));
  }
  assert.throws(() => decodeRequest(new Uint8Array([99, 0, 0])), /too short/);
  assert.throws(() => decodeRequest(new Uint8Array(20).fill(99)), /unknown request kind/);
});

/** Byte arrays compare by content, bigints by value. */
function normalize(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, function (this: Record<string, unknown>, k, x) {
      const original = this[k];
      if (original instanceof Uint8Array) return `bytes:${Buffer.from(original).toString("hex")}`;
      return typeof x === "bigint" ? `n${x}` : x;
    }),
  );
}

test("proposal waits expire in order after the timeout", async () => {
  const clock = new ManualClock();
  const w = new ProposalWaiters(1000, clock.now);
  const outcomes: string[] = [];
  const track = (id: number) =>
    w.register<string>(id).then(
      (v) => outcomes.push(`${id}:${v}`),
      (e: Error) => outcomes.push(`${id}:${e.message}`),
    );
  const p1 = track(1);
  clock.advance(500);
  const p2 = track(2);
  w.resolve(3, "nobody waits");
  assert.equal(
    w.expire(() => new Error("late")),
    0,
  );
  clock.advance(600);
  assert.equal(
    w.expire(() => new Error("late")),
    1,
  );
  w.resolve(2, "done");
  await Promise.all([p1, p2]);
  assert.deepEqual(outcomes, ["1:late", "2:done"]);
  assert.equal(w.size, 0);
});

test("without a leader, writes and linearizable reads fail with etcd's no-leader error", async (t) => {
  const dir = tempDir();
  t.after(() => dir.remove());
  const dropped: number[] = [];
  const s = await StoreServer.open({
    dataDir: dir.path,
    name: "a",
    initialCluster: [
      { name: "a", peerURLs: ["http://127.0.0.1:1"] },
      { name: "b", peerURLs: ["http://127.0.0.1:2"] },
      { name: "c", peerURLs: ["http://127.0.0.1:3"] },
    ],
    // A partitioned member: nothing it sends arrives.
    transport: { send: (msgs) => dropped.push(msgs.length) },
    log: quietLog(),
  });
  t.after(() => s.close());
  assert.equal(s.hasLeader(), false);
  await assert.rejects(s.put({ key: b("k"), value: b("v") }), (err: Error & { grpcCode?: number }) => {
    assert.equal(err.message, "etcdserver: no leader");
    assert.equal(err.grpcCode, 14);
    return true;
  });
  await assert.rejects(s.range({ key: b("k") }), { message: "etcdserver: no leader" });
  assert.equal((await s.range({ key: b("k"), serializable: true })).count, 0, "serializable reads are local");
  assert.equal((await s.memberList()).members.length, 3);
  assert.equal((await s.status()).leader, 0n);
  assert.ok(dropped.length > 0, "the member tried to reach its peers");
});

test("StoreServer exposes etcd's metric names", async (t) => {
  const dir = tempDir();
  t.after(() => dir.remove());
  const s = await StoreServer.open({ dataDir: dir.path, log: quietLog() });
  t.after(() => s.close());
  await s.put({ key: b("m"), value: b("v") });
  const text = await s.registry.metrics();
  for (const name of [
    "etcd_server_has_leader 1",
    "etcd_server_is_leader 1",
    "etcd_server_leader_changes_seen_total 1",
    "etcd_server_proposals_committed_total",
    "etcd_server_proposals_applied_total",
    "etcd_server_proposals_pending 0",
    "etcd_server_proposals_failed_total 0",
    "etcd_mvcc_db_total_size_in_bytes",
    "etcd_disk_wal_fsync_duration_seconds_count",
    "etcd_disk_backend_commit_duration_seconds_count",
  ]) {
    assert.ok(text.includes(name), `missing ${name}`);
  }
});
