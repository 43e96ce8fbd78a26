import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Snapshot } from "../../src/raft/types.js";
import { Snapshotter } from "../../src/store/wal/index.js";
import { RecordingLogger, tempDir } from "./fixtures/wal-support.js";

function snapshot(index: number, term: number, size = 1000): Snapshot {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 13 + index) & 0xff;
  return { metadata: { index, term, confState: { voters: [1, 2, 3], learners: [4] } }, data };
}

describe("snapshotter", () => {
  test("save then load returns the newest snapshot, byte for byte", async (t) => {
    const dir = join(await tempDir(t), "snap");
    const snap = await Snapshotter.open(dir);
    assert.equal(await snap.load(), undefined);
    await snap.save(snapshot(100, 2));
    await snap.save(snapshot(300, 3, 3 * 1024 * 1024));
    await snap.save(snapshot(200, 3));
    assert.deepEqual(await readdir(dir), [
      "0000000000000002-0000000000000064.snap",
      "0000000000000003-00000000000000c8.snap",
      "0000000000000003-000000000000012c.snap",
    ]);
    const loaded = await snap.load();
    assert.deepEqual(loaded?.metadata, snapshot(300, 3).metadata);
    assert.ok(Buffer.from(loaded!.data).equals(Buffer.from(snapshot(300, 3, 3 * 1024 * 1024).data)));
    await assert.rejects(snap.save(snapshot(0, 0)), /empty snapshot/);
  });

  test("a broken newest snapshot is reported, renamed .broken, and the previous one loaded", async (t) => {
    const dir = await tempDir(t);
    const logger = new RecordingLogger();
    const snap = await Snapshotter.open(dir, { logger });
    await snap.save(snapshot(10, 1));
    await snap.save(snapshot(20, 1));
    const newest = join(dir, "0000000000000001-0000000000000014.snap");
    const bytes = await readFile(newest);
    bytes[bytes.length - 100]! ^= 1;
    await writeFile(newest, bytes);
    const loaded = await snap.load();
    assert.equal(loaded?.metadata.index, 10);
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0]!, /0000000000000014\.snap is broken \(crc mismatch/);
    assert.deepEqual((await readdir(dir)).sort(), [
      "0000000000000001-000000000000000a.snap",
      "0000000000000001-0000000000000014.snap.broken",
    ]);
  });

  test("a file whose contents do not match its name is broken", async (t) => {
    const dir = await tempDir(t);
    const snap = await Snapshotter.open(dir, { logger: new RecordingLogger() });
    await snap.save(snapshot(10, 1));
    await writeFile(
      join(dir, "0000000000000009-0000000000000009.snap"),
      await readFile(join(dir, await first(dir))),
    );
    assert.equal((await snap.load())?.metadata.index, 10);
  });

  test("loadNewestAvailable picks the newest snapshot the WAL has a marker for", async (t) => {
    const dir = await tempDir(t);
    const snap = await Snapshotter.open(dir);
    for (const i of [10, 20, 30]) await snap.save(snapshot(i, 1));
    const got = await snap.loadNewestAvailable([
      { index: 10, term: 1 },
      { index: 20, term: 1 },
    ]);
    assert.equal(got?.metadata.index, 20);
    assert.equal(await snap.loadNewestAvailable([{ index: 30, term: 2 }]), undefined);
  });

  test("purge keeps the newest N", async (t) => {
    const dir = await tempDir(t);
    const snap = await Snapshotter.open(dir, { keep: 3 });
    for (let i = 1; i <= 7; i++) await snap.save(snapshot(i * 10, 1, 10));
    const deleted = await snap.purge();
    assert.equal(deleted.length, 4);
    assert.deepEqual(
      (await snap.list()).map((n) => Number.parseInt(n.slice(17, 33), 16)),
      [70, 60, 50],
    );
    assert.deepEqual(await snap.purge(1), [
      "0000000000000001-000000000000003c.snap",
      "0000000000000001-0000000000000032.snap",
    ]);
  });

  test("temp files left by a crash are cleared on open", async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, "0000000000000001-0000000000000001.snap.tmp"), "partial");
    const snap = await Snapshotter.open(dir);
    assert.deepEqual(await readdir(dir), []);
    assert.equal(await snap.load(), undefined);
  });
});

async function first(dir: string): Promise<string> {
  return (await readdir(dir)).sort()[0]!;
}
