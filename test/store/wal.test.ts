import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { describe, test } from "node:test";
import { Wal, WalNotFoundError, WalSnapshotNotFoundError } from "../../src/store/wal/index.js";
import { entries, entry, RecordingLogger, tempDir } from "./fixtures/wal-support.js";

const META = new TextEncoder().encode("cluster=7 member=3");

async function walFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
}

describe("wal round trip", () => {
  test("hard states and entries across several segments come back identical", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META, { segmentSize: 1024 });
    const written = [];
    for (let i = 1; i <= 200; i += 5) {
      const batch = entries(i, i + 4, 2, 30 + (i % 50));
      written.push(...batch);
      await wal.save({ term: 2, vote: 1, commit: i }, batch, true);
    }
    await wal.close();
    assert.ok((await walFiles(dir)).length >= 5, "expected several segments");
    assert.equal((await walFiles(dir))[0], "0000000000000000-0000000000000000.wal");

    const r = await Wal.open(dir, undefined, { segmentSize: 1024 });
    t.after(() => r.wal.close());
    assert.deepEqual(r.metadata, META);
    assert.deepEqual(r.hardState, { term: 2, vote: 1, commit: 196 });
    assert.equal(r.entries.length, written.length);
    assert.deepEqual(r.entries, written);
    assert.equal(r.snapshot, undefined);
  });

  test("segment names carry the sequence and the first index of the segment", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META, { segmentSize: 512 });
    for (let i = 1; i <= 40; i++) await wal.save(undefined, [entry(i, 1, 100)], false);
    await wal.close();
    const names = await walFiles(dir);
    for (const [seq, name] of names.entries()) {
      const [seqHex, indexHex] = name.replace(".wal", "").split("-");
      assert.equal(Number.parseInt(seqHex!, 16), seq);
      if (seq > 0) assert.ok(Number.parseInt(indexHex!, 16) > 1);
    }
    assert.deepEqual(wal.segmentNames(), names);
  });

  test("a later record at the same index replaces the earlier one and its suffix", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META, { segmentSize: 600 });
    await wal.save({ term: 1, vote: 1, commit: 3 }, entries(1, 10, 1), true);
    // A new leader in term 2 overwrites from index 6; 9 and 10 of term 1 are gone.
    await wal.save({ term: 2, vote: 2, commit: 5 }, entries(6, 8, 2), true);
    await wal.save(undefined, entries(9, 9, 2), true);
    await wal.close();
    const r = await Wal.open(dir);
    t.after(() => r.wal.close());
    assert.deepEqual(r.entries, [...entries(1, 5, 1), ...entries(6, 9, 2)]);
    assert.deepEqual(r.hardState, { term: 2, vote: 2, commit: 5 });
  });

  test("opening from a snapshot marker returns only the entries after it", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META);
    await wal.save({ term: 1, vote: 1, commit: 20 }, entries(1, 20, 1), true);
    await wal.saveSnapshot({ index: 12, term: 1 });
    await wal.save(undefined, entries(21, 25, 1), true);
    await wal.close();
    const r = await Wal.open(dir, { index: 12, term: 1 });
    t.after(() => r.wal.close());
    assert.deepEqual(r.entries, entries(13, 25, 1));
    assert.deepEqual(r.snapshot, { index: 12, term: 1 });
    assert.deepEqual(await Wal.snapshotMarkers(dir), [{ index: 12, term: 1 }]);
  });

  test("opening from a marker that is not in the log fails clearly", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META);
    await wal.save(undefined, entries(1, 5, 1), true);
    await wal.saveSnapshot({ index: 3, term: 1 });
    await wal.close();
    await assert.rejects(Wal.open(dir, { index: 3, term: 2 }), (err: Error) => {
      assert.ok(err instanceof WalSnapshotNotFoundError);
      assert.match(err.message, /index 3, term 2\) not found.*has term 1/);
      return true;
    });
  });

  test("reopened WAL keeps appending where it stopped", async (t) => {
    const dir = await tempDir(t);
    const first = await Wal.create(dir, META, { segmentSize: 700 });
    await first.save({ term: 1, vote: 0, commit: 0 }, entries(1, 10, 1), true);
    await first.close();
    for (let round = 0; round < 3; round++) {
      const { wal, entries: got } = await Wal.open(dir, undefined, { segmentSize: 700 });
      const last = got[got.length - 1]!.index;
      await wal.save({ term: 1, vote: 0, commit: last }, entries(last + 1, last + 10, 1), true);
      await wal.close();
    }
    const r = await Wal.open(dir);
    t.after(() => r.wal.close());
    assert.deepEqual(r.entries, entries(1, 40, 1));
    assert.deepEqual(r.hardState, { term: 1, vote: 0, commit: 30 });
  });

  test("create refuses a directory that already holds a WAL; open refuses an empty one", async (t) => {
    const dir = await tempDir(t);
    assert.equal(await Wal.exists(dir), false);
    await assert.rejects(Wal.open(dir), WalNotFoundError);
    const wal = await Wal.create(dir, META);
    await wal.close();
    assert.equal(await Wal.exists(dir), true);
    await assert.rejects(Wal.create(dir, META), /already holds a WAL/);
  });

  test("bad input is rejected without damaging the log", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META);
    await wal.save(undefined, entries(1, 3, 1), true);
    await assert.rejects(wal.save(undefined, [entry(4, 1), entry(6, 1)], true), /not contiguous/);
    await assert.rejects(wal.save({ term: -1, vote: 0, commit: 0 }, [], true), /non-negative safe integer/);
    await assert.rejects(wal.save(undefined, [{ ...entry(4, 1), term: 2 ** 53 }], true), /safe integer/);
    await wal.save(undefined, entries(4, 5, 1), true);
    await wal.close();
    await assert.rejects(wal.save(undefined, entries(6, 6, 1), true), /closed/);
    const r = await Wal.open(dir);
    t.after(() => r.wal.close());
    assert.deepEqual(r.entries, entries(1, 5, 1));
  });
});

describe("wal group commit", () => {
  test("1000 concurrent synced saves share few fdatasyncs and resolve in order", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META);
    const resolved: number[] = [];
    const saves = [];
    for (let i = 1; i <= 1000; i++) {
      saves.push(
        wal.save({ term: 1, vote: 1, commit: i }, [entry(i, 1, 300)], true).then(() => resolved.push(i)),
      );
    }
    await Promise.all(saves);
    assert.deepEqual(
      resolved,
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    assert.ok(wal.stats.syncs <= 5, `expected few fdatasyncs, got ${wal.stats.syncs}`);
    assert.equal(wal.stats.writes, wal.stats.batches);
    assert.equal(wal.stats.saves, 1000);
    await wal.close();
    const r = await Wal.open(dir);
    t.after(() => r.wal.close());
    assert.equal(r.entries.length, 1000);
    assert.deepEqual(r.hardState.commit, 1000);
  });

  test("saves issued while a sync is in flight are coalesced into the next batch", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META);
    const first = wal.save(undefined, [entry(1, 1)], true);
    await first;
    const before = { ...wal.stats };
    const wave = [];
    for (let i = 2; i <= 101; i++) wave.push(wal.save(undefined, [entry(i, 1)], true));
    await Promise.all(wave);
    assert.equal(wal.stats.batches - before.batches, 1);
    assert.equal(wal.stats.syncs - before.syncs, 1);
    await wal.close();
    const r = await Wal.open(dir);
    t.after(() => r.wal.close());
    assert.deepEqual(r.entries, entries(1, 101, 1));
  });
});

describe("wal releaseTo", () => {
  test("drops segments older than the snapshot and the log reopens from it", async (t) => {
    const dir = await tempDir(t);
    const logger = new RecordingLogger();
    const wal = await Wal.create(dir, META, { segmentSize: 800, logger });
    for (let i = 1; i <= 100; i += 4)
      await wal.save({ term: 3, vote: 2, commit: i + 3 }, entries(i, i + 3, 3), true);
    await wal.saveSnapshot({ index: 60, term: 3 });
    for (let i = 101; i <= 120; i += 4)
      await wal.save({ term: 3, vote: 2, commit: i + 3 }, entries(i, i + 3, 3), true);
    const before = await walFiles(dir);
    await wal.releaseTo(60);
    const after = await walFiles(dir);
    assert.ok(after.length < before.length, `expected fewer segments: ${before.length} -> ${after.length}`);
    assert.deepEqual(after, before.slice(before.length - after.length));
    assert.deepEqual(wal.segmentNames(), after);
    await wal.save(undefined, entries(121, 121, 3), true);
    await wal.close();

    const r = await Wal.open(dir, { index: 60, term: 3 }, { logger });
    t.after(() => r.wal.close());
    assert.deepEqual(r.entries, entries(61, 121, 3));
    assert.deepEqual(r.hardState, { term: 3, vote: 2, commit: 120 });
    assert.deepEqual(r.metadata, META);
    assert.deepEqual(logger.warnings, []);
  });

  test("keeps everything when no snapshot is at or below the index", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META, { segmentSize: 500 });
    for (let i = 1; i <= 50; i++) await wal.save(undefined, [entry(i, 1)], false);
    await wal.saveSnapshot({ index: 40, term: 1 });
    const before = await walFiles(dir);
    await wal.releaseTo(39);
    assert.deepEqual(await walFiles(dir), before);
    await wal.close();
  });
});
