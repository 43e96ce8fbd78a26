// Snapshot markers in logs that do not start at index 1 (bootstrapped from a snapshot, or with
// a released prefix), and the error that tells a missing prefix from corruption.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Wal, WalCorruptionError, WalGapError } from "../../src/store/wal/index.js";
import { entries, tempDir } from "./fixtures/wal-support.js";

const META = new TextEncoder().encode("cluster=7 member=3");

/** A WAL as a bootstrapped member leaves it: a marker at index 1, then entries from 2. */
async function startsAtSnapshot(dir: string, last: number): Promise<void> {
  const wal = await Wal.create(dir, META);
  await wal.saveSnapshot({ index: 1, term: 1 });
  await wal.save({ term: 1, vote: 0, commit: 1 }, [], true);
  await wal.save({ term: 2, vote: 1, commit: last }, entries(2, last, 2), true);
  await wal.close();
}

describe("wal snapshot markers", () => {
  test("a log that starts with a snapshot marker lists its markers", async (t) => {
    const dir = await tempDir(t);
    await startsAtSnapshot(dir, 2);
    assert.deepEqual(await Wal.snapshotMarkers(dir), [{ index: 1, term: 1 }]);
  });

  test("markers above the last committed index are not offered", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META);
    await wal.saveSnapshot({ index: 1, term: 1 });
    await wal.save({ term: 1, vote: 0, commit: 1 }, entries(2, 10, 1), true);
    await wal.save({ term: 1, vote: 0, commit: 8 }, [], true);
    await wal.saveSnapshot({ index: 8, term: 1 });
    // A leader's snapshot whose hard state a crash kept from being saved.
    await wal.saveSnapshot({ index: 20, term: 2 });
    await wal.close();
    assert.deepEqual(await Wal.snapshotMarkers(dir), [
      { index: 1, term: 1 },
      { index: 8, term: 1 },
    ]);
  });

  test("after releaseTo the kept markers are listed and the log opens from the newest", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META, { segmentSize: 800 });
    await wal.saveSnapshot({ index: 1, term: 1 });
    for (let i = 2; i <= 100; i += 4)
      await wal.save({ term: 3, vote: 2, commit: i + 3 }, entries(i, i + 3, 3), true);
    await wal.saveSnapshot({ index: 60, term: 3 });
    await wal.save({ term: 3, vote: 2, commit: 104 }, entries(102, 104, 3), true);
    await wal.releaseTo(60);
    assert.ok(!wal.segmentNames()[0]!.startsWith("0000000000000000-"), "expected the first segment released");
    await wal.close();

    const markers = await Wal.snapshotMarkers(dir);
    assert.deepEqual(markers, [{ index: 60, term: 3 }]);
    const r = await Wal.open(dir, markers[markers.length - 1]);
    t.after(() => r.wal.close());
    assert.deepEqual(r.entries, entries(61, 104, 3));
  });
});

describe("wal opened without a marker when entries are missing", () => {
  test("a released prefix is a WalGapError naming the first index present", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META, { segmentSize: 800 });
    for (let i = 1; i <= 100; i += 4)
      await wal.save({ term: 3, vote: 2, commit: i + 3 }, entries(i, i + 3, 3), true);
    await wal.saveSnapshot({ index: 60, term: 3 });
    await wal.releaseTo(60);
    await wal.close();
    await assert.rejects(Wal.open(dir), (err: Error) => {
      assert.ok(err instanceof WalGapError, `expected WalGapError, got ${err.name}: ${err.message}`);
      assert.ok(!(err instanceof WalCorruptionError));
      assert.ok(err.firstIndex > 1 && err.firstIndex <= 61, `firstIndex ${err.firstIndex}`);
      assert.match(err.message, /released.*open from a snapshot marker/);
      return true;
    });
  });

  test("a log that starts at a snapshot marker is a WalGapError, and opens from the marker", async (t) => {
    const dir = await tempDir(t);
    await startsAtSnapshot(dir, 5);
    await assert.rejects(Wal.open(dir), (err: Error) => {
      assert.ok(err instanceof WalGapError, `expected WalGapError, got ${err.name}: ${err.message}`);
      assert.equal(err.firstIndex, 2);
      return true;
    });
    const r = await Wal.open(dir, { index: 1, term: 1 });
    t.after(() => r.wal.close());
    assert.deepEqual(r.entries, entries(2, 5, 2));
  });

  test("entries missing in the middle of the log are still corruption", async (t) => {
    const dir = await tempDir(t);
    const wal = await Wal.create(dir, META);
    await wal.save(undefined, entries(1, 3, 1), true);
    await wal.save(undefined, entries(6, 7, 1), true);
    await wal.close();
    await assert.rejects(Wal.open(dir), (err: Error) => {
      assert.ok(err instanceof WalCorruptionError, `expected WalCorruptionError, got ${err.name}`);
      assert.match(err.message, /entry 6 leaves a gap/);
      return true;
    });
  });
});
