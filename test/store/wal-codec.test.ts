import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EntryType } from "../../src/raft/types.js";
import {
  CodecError,
  decodeEntry,
  decodeHardState,
  decodeSnapshotMetadata,
  encodeEntry,
  encodeHardState,
  encodeSnapshotMetadata,
} from "../../src/store/wal/index.js";

describe("wal codec", () => {
  test("entries round trip, including empty and large values near 2^53", () => {
    const cases = [
      { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array() },
      { term: 7, index: 123456, type: EntryType.ConfChange, data: new Uint8Array([1, 2, 3, 0, 255]) },
      { term: 2 ** 53 - 1, index: 2 ** 40 + 5, type: EntryType.Normal, data: new Uint8Array(70_000).fill(9) },
    ];
    for (const e of cases) {
      const bytes = encodeEntry(e);
      assert.equal(bytes.length, 21 + e.data.length);
      assert.deepEqual(decodeEntry(bytes), e);
    }
  });

  test("little-endian layout is stable", () => {
    const bytes = encodeEntry({
      term: 0x0102,
      index: 3,
      type: EntryType.ConfChange,
      data: new Uint8Array([0xaa]),
    });
    assert.equal(
      Buffer.from(bytes).toString("hex"),
      "0201000000000000" + "0300000000000000" + "01" + "01000000" + "aa",
    );
  });

  test("hard state and snapshot metadata round trip", () => {
    const hs = { term: 9, vote: 3, commit: 2 ** 50 };
    assert.deepEqual(decodeHardState(encodeHardState(hs)), hs);
    const meta = { index: 500, term: 4, confState: { voters: [1, 2, 3], learners: [9] } };
    assert.deepEqual(decodeSnapshotMetadata(encodeSnapshotMetadata(meta)), meta);
    const bare = { index: 1, term: 1, confState: { voters: [], learners: [] } };
    assert.deepEqual(decodeSnapshotMetadata(encodeSnapshotMetadata(bare)), bare);
  });

  test("malformed input throws a CodecError that says what is wrong", () => {
    const good = encodeEntry({ term: 1, index: 2, type: EntryType.Normal, data: new Uint8Array([5, 6]) });
    assert.throws(() => decodeEntry(good.subarray(0, good.length - 1)), /entry: truncated at data/);
    assert.throws(() => decodeEntry(good.subarray(0, 5)), /entry: truncated at term/);
    assert.throws(() => decodeEntry(Buffer.concat([good, Buffer.from([0])])), /1 unexpected trailing bytes/);
    const badType = Buffer.from(good);
    badType[16] = 7;
    assert.throws(() => decodeEntry(badType), /unknown entry type 7/);
    const huge = Buffer.from(good);
    huge[7] = 0xff;
    assert.throws(() => decodeEntry(huge), /term exceeds 2\^53/);
    assert.throws(() => decodeHardState(new Uint8Array(23)), CodecError);
    const meta = Buffer.from(
      encodeSnapshotMetadata({ index: 1, term: 1, confState: { voters: [1], learners: [] } }),
    );
    meta.writeUInt32LE(1_000_000, 16); // voter count far beyond the bytes present
    assert.throws(() => decodeSnapshotMetadata(meta), /snapshot metadata: truncated at voter id/);
  });

  test("encoding rejects values that cannot round trip", () => {
    const e = { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array() };
    assert.throws(() => encodeEntry({ ...e, index: -1 }), /entry index must be a non-negative safe integer/);
    assert.throws(() => encodeEntry({ ...e, term: 1.5 }), CodecError);
    assert.throws(() => encodeEntry({ ...e, type: 5 as EntryType }), /unknown entry type 5/);
    assert.throws(() => encodeHardState({ term: 1, vote: Number.NaN, commit: 0 }), /hard state vote/);
  });
});
