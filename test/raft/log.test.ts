import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EntryType, ErrCompacted, MemoryStorage } from "../../src/raft/index.js";
import { RaftLog } from "../../src/raft/log.js";
import { Inflights } from "../../src/raft/progress.js";

const ent = (index: number, term: number, bytes = 0) => ({
  index,
  term,
  type: EntryType.Normal,
  data: new Uint8Array(bytes),
});

/** A log with terms [1,1,2,2,3] at indexes 1..5, the first three stable, the rest unstable. */
function sampleLog(): RaftLog {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1), ent(3, 2)]);
  const log = new RaftLog(s, Number.POSITIVE_INFINITY);
  log.append([ent(4, 2), ent(5, 3)]);
  return log;
}

describe("raft log", () => {
  test("terms and bounds span storage and the unstable tail", () => {
    const log = sampleLog();
    assert.equal(log.firstIndex(), 1);
    assert.equal(log.lastIndex(), 5);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((i) => log.term(i)),
      [0, 1, 1, 2, 2, 3],
    );
    assert.equal(log.termOrZero(6), 0);
    assert.deepEqual(
      log.slice(2, 6, Number.POSITIVE_INFINITY).map((e) => e.index),
      [2, 3, 4, 5],
    );
  });

  test("findConflict reports the first new or differing entry", () => {
    const log = sampleLog();
    assert.equal(log.findConflict([ent(4, 2), ent(5, 3)]), 0);
    assert.equal(log.findConflict([ent(5, 3), ent(6, 3)]), 6);
    assert.equal(log.findConflict([ent(3, 2), ent(4, 4)]), 4);
  });

  test("findConflictByTerm returns the last index with a term <= the given one", () => {
    const log = sampleLog();
    assert.deepEqual(log.findConflictByTerm(5, 3), { index: 5, term: 3 });
    assert.deepEqual(log.findConflictByTerm(5, 2), { index: 4, term: 2 });
    assert.deepEqual(log.findConflictByTerm(5, 1), { index: 2, term: 1 });
    assert.deepEqual(log.findConflictByTerm(5, 0), { index: 0, term: 0 });
  });

  test("maybeAppend checks the previous entry, truncates a conflicting suffix and commits", () => {
    const log = sampleLog();
    assert.equal(log.maybeAppend(5, 2, 5, [ent(6, 4)]), -1, "term mismatch at 5");
    assert.equal(log.maybeAppend(3, 2, 4, [ent(4, 4), ent(5, 4)]), 5);
    assert.deepEqual(
      [4, 5].map((i) => log.term(i)),
      [4, 4],
    );
    assert.equal(log.committed, 4);
    assert.throws(() => log.maybeAppend(2, 1, 4, [ent(3, 5)]), /conflicts with committed entry/);
  });

  test("the unstable tail hands entries out once and drops them once durable", () => {
    const log = sampleLog();
    assert.deepEqual(
      log.unstable.nextEntries().map((e) => e.index),
      [4, 5],
    );
    log.unstable.acceptInProgress();
    assert.equal(log.unstable.hasNextEntries(), false);
    log.append([ent(6, 3)]);
    assert.deepEqual(
      log.unstable.nextEntries().map((e) => e.index),
      [6],
    );
    // An overwrite below the in-progress point makes those indexes due again.
    log.append([ent(5, 4)]);
    assert.deepEqual(
      log.unstable.nextEntries().map((e) => [e.index, e.term]),
      [[5, 4]],
    );
    log.stableTo(5, 3);
    assert.equal(log.unstable.offset, 4, "stale acknowledgement for an overwritten term is ignored");
    log.stableTo(5, 4);
    assert.equal(log.unstable.offset, 6);
  });

  test("a compacted range reports ErrCompacted", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
    s.compact(2);
    const log = new RaftLog(s, Number.POSITIVE_INFINITY);
    assert.throws(
      () => log.slice(2, 4, Number.POSITIVE_INFINITY),
      (e) => e === ErrCompacted,
    );
    assert.equal(log.term(2), 1, "the compaction point's term stays known");
    assert.equal(log.committed, 2);
  });

  test("slices are cut at maxSize but always hold one entry", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1, 100), ent(2, 1, 100)]);
    const log = new RaftLog(s, Number.POSITIVE_INFINITY);
    log.append([ent(3, 1, 100), ent(4, 1, 100)]);
    assert.equal(log.slice(1, 5, 250).length, 2);
    assert.equal(log.slice(1, 5, 350).length, 3, "spans storage and unstable");
    assert.equal(log.slice(3, 5, 10).length, 1);
  });
});

describe("inflights", () => {
  test("a bounded ring buffer freed by acknowledged index", () => {
    const inf = new Inflights(3);
    inf.add(5);
    inf.add(7);
    inf.add(9);
    assert.equal(inf.full(), true);
    assert.throws(() => inf.add(10), /full inflights/);
    inf.freeLE(7);
    assert.equal(inf.count, 1);
    inf.add(11);
    inf.add(12);
    assert.equal(inf.full(), true);
    inf.freeFirstOne();
    inf.freeLE(11);
    assert.equal(inf.count, 1);
    inf.freeLE(100);
    assert.equal(inf.count, 0);
  });
});
