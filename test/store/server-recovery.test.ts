import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { StoreServer } from "../../src/store/server/server.js";
import { b, quietLog, tempDir, text } from "./support/server.js";

const dirs: Array<{ remove: () => void }> = [];
const open: StoreServer[] = [];
after(async () => {
  for (const s of open) await s.close();
  for (const d of dirs) d.remove();
});

function newDir(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}

async function start(dataDir: string, extra: Partial<Parameters<typeof StoreServer.open>[0]> = {}) {
  const s = await StoreServer.open({ dataDir, log: quietLog(), ...extra });
  open.push(s);
  return s;
}

async function stop(s: StoreServer): Promise<void> {
  await s.close();
  open.splice(open.indexOf(s), 1);
}

test("a restart recovers exactly the acknowledged writes, ids and revisions", async () => {
  const dataDir = newDir();
  const s1 = await start(dataDir);
  const ids = { member: s1.memberId, cluster: s1.header().clusterId };
  const lease = await s1.leaseGrant({ ttl: 60 });
  for (let i = 0; i < 50; i++) await s1.put({ key: b(`k/${i}`), value: b(`v${i}`) });
  await s1.put({ key: b("leased"), value: b("x"), lease: lease.id });
  await s1.deleteRange({ key: b("k/7") });
  const rev = s1.header().revision;
  const hash = (await s1.hashKV(0)).hash;
  await stop(s1);

  const s2 = await start(dataDir);
  assert.equal(s2.memberId, ids.member);
  assert.equal(s2.header().clusterId, ids.cluster);
  assert.equal(s2.header().revision, rev);
  assert.equal((await s2.hashKV(0)).hash, hash);
  const r = await s2.range({ key: b("k/"), rangeEnd: b("k0") });
  assert.equal(r.count, 49);
  assert.equal(text((await s2.range({ key: b("k/42") })).kvs[0]!.value), "v42");
  assert.deepEqual((await s2.leaseLeases()).leases, [lease.id]);
  const next = await s2.put({ key: b("after"), value: b("restart") });
  assert.equal(next.header.revision, rev + 1);
  assert.ok(next.header.raftTerm > 2, "a restarted member campaigns in a new term");
});

test("every --snapshot-count entries a snapshot is saved, the log trimmed, and a restart starts from it", async () => {
  const dataDir = newDir();
  const snapshotCount = 200;
  const s1 = await start(dataDir, { snapshotCount, snapshotCatchUpEntries: 50 });
  for (let i = 0; i < 450; i++)
    await s1.put({ key: b(`s/${String(i).padStart(4, "0")}`), value: b(String(i)) });
  await s1.snapshotSettled();
  const log = s1.logState();
  assert.ok(log.snapshotIndex >= 400, `snapshot index ${log.snapshotIndex}`);
  assert.equal(log.firstIndex, log.snapshotIndex - 50 + 1, "catch-up entries kept behind the snapshot");
  const snaps = readdirSync(join(dataDir, "member", "snap")).filter((n) => n.endsWith(".snap"));
  assert.ok(snaps.length >= 2, `snapshot files: ${snaps.join(", ")}`);
  const rev = s1.header().revision;
  const hash = (await s1.hashKV(0)).hash;
  await stop(s1);

  const s2 = await start(dataDir, { snapshotCount, snapshotCatchUpEntries: 50 });
  const restarted = s2.logState();
  assert.ok(
    restarted.firstIndex >= log.snapshotIndex + 1,
    "the restart loaded the snapshot, not the whole log",
  );
  assert.equal(s2.header().revision, rev);
  assert.equal((await s2.hashKV(0)).hash, hash);
  assert.equal((await s2.range({ key: b("s/"), rangeEnd: b("s0"), countOnly: true })).count, 450);
  assert.equal(text((await s2.range({ key: b("s/0449") })).kvs[0]!.value), "449");
});

test("a compaction survives a restart", async () => {
  const dataDir = newDir();
  const s1 = await start(dataDir);
  await s1.put({ key: b("c"), value: b("1") });
  const rev = (await s1.put({ key: b("c"), value: b("2") })).header.revision;
  await s1.compact({ revision: rev });
  await stop(s1);
  const s2 = await start(dataDir);
  await assert.rejects(s2.range({ key: b("c"), revision: rev - 1 }), {
    message: "etcdserver: mvcc: required revision has been compacted",
  });
  assert.equal(text((await s2.range({ key: b("c") })).kvs[0]!.value), "2");
});

test("a data dir with a member but no WAL is refused with a clear error", async () => {
  const dataDir = newDir();
  const { mkdirSync } = await import("node:fs");
  mkdirSync(join(dataDir, "member"), { recursive: true });
  await assert.rejects(StoreServer.open({ dataDir, log: quietLog() }), /holds no WAL/);
});
