import assert from "node:assert/strict";
import { appendFile, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Wal, WalCorruptionError } from "../../src/store/wal/index.js";
import { entries, RecordingLogger, tempDir } from "./fixtures/wal-support.js";

const META = new TextEncoder().encode("recovery");
const ENTRY_SIZE = 60;

/** Writes entries 1..count, one synced save each, and returns the segment paths. */
async function writeLog(dir: string, count: number, segmentSize = 64 * 1024 * 1024): Promise<string[]> {
  const wal = await Wal.create(dir, META, { segmentSize });
  for (let i = 1; i <= count; i++)
    await wal.save({ term: 1, vote: 1, commit: i }, entries(i, i, 1, ENTRY_SIZE), true);
  await wal.close();
  return (await readdir(dir))
    .filter((n) => n.endsWith(".wal"))
    .sort()
    .map((n) => join(dir, n));
}

async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[offset] = bytes[offset]! ^ 0x40;
  await writeFile(path, bytes);
}

function corruption(path: string, offset?: number) {
  return (err: Error) => {
    assert.ok(err instanceof WalCorruptionError, `expected WalCorruptionError, got ${err}`);
    assert.equal(err.path, path);
    assert.ok(err.message.includes(path), err.message);
    if (offset !== undefined) assert.equal(err.offset, offset);
    assert.match(err.message, /^wal: corrupt record in .* at offset \d+: /);
    return true;
  };
}

describe("wal torn tail repair", () => {
  test("a record cut short mid-payload is dropped and the file repaired", async (t) => {
    const dir = await tempDir(t);
    const [path] = await writeLog(dir, 20);
    const size = (await stat(path!)).size;
    await truncate(path!, size - 7);
    const logger = new RecordingLogger();
    const r = await Wal.open(dir, undefined, { logger });
    // Each save wrote an entry then a hard state; the torn record is the last hard state.
    assert.deepEqual(r.entries, entries(1, 20, 1, ENTRY_SIZE));
    assert.deepEqual(r.hardState, { term: 1, vote: 1, commit: 19 });
    assert.equal(logger.warnings.length, 1);
    assert.match(
      logger.warnings[0]!,
      /torn tail in .* at offset \d+ \(record length 24 runs past end of file/,
    );
    await r.wal.save({ term: 1, vote: 1, commit: 21 }, entries(21, 21, 1, ENTRY_SIZE), true);
    await r.wal.close();

    const again = await Wal.open(dir, undefined, { logger: new RecordingLogger() });
    t.after(() => again.wal.close());
    assert.deepEqual(again.entries, entries(1, 21, 1, ENTRY_SIZE));
    assert.deepEqual(again.hardState, { term: 1, vote: 1, commit: 21 });
  });

  test("a torn record header and a torn entry payload are both repaired", async (t) => {
    // Each save is an entry record (12 + 21 + 60 bytes) then a hard state record (12 + 24).
    const cases = [
      { cut: 30, lastEntry: 10, commit: 9 }, // only the hard state's header is left, partly
      { cut: 36 + 50, lastEntry: 9, commit: 9 }, // hard state gone, entry 10 cut mid-payload
    ];
    for (const { cut, lastEntry, commit } of cases) {
      const dir = await tempDir(t);
      const [path] = await writeLog(dir, 10);
      await truncate(path!, (await stat(path!)).size - cut);
      const logger = new RecordingLogger();
      const r = await Wal.open(dir, undefined, { logger });
      assert.deepEqual(r.entries, entries(1, lastEntry, 1, ENTRY_SIZE), `cut ${cut}`);
      assert.equal(r.hardState.commit, commit);
      assert.equal(logger.warnings.length, 1);
      await r.wal.close();
      const clean = new RecordingLogger();
      await (await Wal.open(dir, undefined, { logger: clean })).wal.close();
      assert.deepEqual(clean.warnings, []);
    }
  });

  test("a zero-filled tail (preallocated or torn with zeros) is repaired", async (t) => {
    const dir = await tempDir(t);
    const [path] = await writeLog(dir, 5);
    const goodSize = (await stat(path!)).size;
    await appendFile(path!, Buffer.alloc(4096));
    const logger = new RecordingLogger();
    const r = await Wal.open(dir, undefined, { logger });
    assert.deepEqual(r.entries, entries(1, 5, 1, ENTRY_SIZE));
    assert.match(logger.warnings[0]!, /zero-filled tail/);
    assert.equal((await stat(path!)).size, goodSize);
    await r.wal.save(undefined, entries(6, 6, 1, ENTRY_SIZE), true);
    await r.wal.close();
    const again = await Wal.open(dir);
    t.after(() => again.wal.close());
    assert.deepEqual(again.entries, entries(1, 6, 1, ENTRY_SIZE));
  });

  test("a last record whose bytes are garbage-then-zeros is torn", async (t) => {
    const dir = await tempDir(t);
    const [path] = await writeLog(dir, 5);
    const size = (await stat(path!)).size;
    // Zero out the last hard-state record's payload but keep the file length.
    const bytes = await readFile(path!);
    bytes.fill(0, size - 10);
    await writeFile(path!, bytes);
    const logger = new RecordingLogger();
    const r = await Wal.open(dir, undefined, { logger });
    t.after(() => r.wal.close());
    assert.equal(r.hardState.commit, 4);
    assert.match(logger.warnings[0]!, /crc mismatch/);
  });
});

describe("wal corruption is refused", () => {
  test("a flipped byte in a middle record names the file and offset", async (t) => {
    const dir = await tempDir(t);
    const [path] = await writeLog(dir, 20);
    // Find record boundaries by reading headers: [u32 length][u32 crc][u8 type][u24 check].
    const bytes = await readFile(path!);
    const starts: number[] = [];
    for (let o = 0; o < bytes.length; o += 12 + bytes.readUInt32LE(o)) starts.push(o);
    const victim = starts[Math.floor(starts.length / 2)]!;
    await flipByte(path!, victim + 12 + 3); // inside the payload
    await assert.rejects(Wal.open(dir), corruption(path!, victim));
    await assert.rejects(Wal.open(dir), /crc mismatch \(expected [0-9a-f]{8}, got [0-9a-f]{8}\)/);
  });

  test("a flipped bit in a middle record's length is corruption, not a torn tail", async (t) => {
    const dir = await tempDir(t);
    const [path] = await writeLog(dir, 20);
    const bytes = await readFile(path!);
    const second = 12 + bytes.readUInt32LE(0);
    const third = second + 12 + bytes.readUInt32LE(second);
    bytes[third + 2] = 0x01; // length grows by 64 KiB: runs past EOF
    await writeFile(path!, bytes);
    await assert.rejects(Wal.open(dir), corruption(path!, third));
    await assert.rejects(Wal.open(dir), /bad record header/);
  });

  test("a flipped byte in an older segment is refused even though later ones are fine", async (t) => {
    const dir = await tempDir(t);
    const paths = await writeLog(dir, 60, 1024);
    assert.ok(paths.length >= 3);
    const older = paths[1]!;
    const size = (await stat(older)).size;
    await flipByte(older, size - 3); // the segment's very last record
    await assert.rejects(Wal.open(dir), corruption(older));
  });

  test("a zero-filled tail on an older segment is refused", async (t) => {
    const dir = await tempDir(t);
    const paths = await writeLog(dir, 60, 1024);
    await appendFile(paths[0]!, Buffer.alloc(100));
    await assert.rejects(Wal.open(dir), corruption(paths[0]!));
  });

  test("a missing segment in the sequence is refused", async (t) => {
    const dir = await tempDir(t);
    const paths = await writeLog(dir, 60, 1024);
    assert.ok(paths.length >= 3);
    await rm(paths[1]!);
    await assert.rejects(Wal.open(dir), /segment with sequence 1 is missing/);
  });

  test("a segment swapped for a copy of another breaks the crc chain", async (t) => {
    const dir = await tempDir(t);
    const paths = await writeLog(dir, 60, 1024);
    await writeFile(paths[2]!, await readFile(paths[1]!));
    await assert.rejects(Wal.open(dir), (err: Error) => {
      assert.ok(err instanceof WalCorruptionError);
      assert.match(err.message, /crc chain broken/);
      return true;
    });
  });
});
