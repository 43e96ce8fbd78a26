import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Entry, EntryType, type Message, MessageType } from "../../src/raft/types.js";
import { parsePeerUrl } from "../../src/store/transport/address.js";
import { CodecError, decodeMessage, encodeMessage } from "../../src/store/transport/codec.js";
import { FaultSpecError, TransportFaults } from "../../src/store/transport/faults.js";
import {
  ByteQueue,
  Channel,
  controlFrame,
  decodeAck,
  decodeHello,
  encodeAck,
  encodeHello,
  FrameKind,
  HelloStatus,
  WireError,
} from "../../src/store/transport/wire.js";

/** mulberry32: a small seeded generator so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALL_TYPES = Object.values(MessageType);

function randomMessage(rand: () => number): Message {
  const int = (max: number) => Math.floor(rand() * max);
  const num = () => (rand() < 0.3 ? 0 : rand() < 0.1 ? Number.MAX_SAFE_INTEGER - int(1000) : int(1_000_000));
  const bytes = (max: number) => Uint8Array.from({ length: int(max) }, () => int(256));
  const entries: Entry[] = [];
  if (rand() < 0.5) {
    for (let i = int(20); i > 0; i--) {
      entries.push({
        term: num(),
        index: num(),
        type: rand() < 0.8 ? EntryType.Normal : EntryType.ConfChange,
        data: bytes(300),
      });
    }
  }
  const m: Message = {
    type: ALL_TYPES[int(ALL_TYPES.length)] as MessageType,
    from: num(),
    to: num(),
    term: num(),
    logTerm: num(),
    index: num(),
    entries,
    commit: num(),
    reject: rand() < 0.2,
    rejectHint: num(),
  };
  if (rand() < 0.2) {
    m.snapshot = {
      metadata: {
        index: num(),
        term: num(),
        confState: {
          voters: Array.from({ length: int(6) }, num),
          learners: Array.from({ length: int(3) }, num),
        },
      },
      data: bytes(5000),
    };
  }
  if (rand() < 0.3) m.context = bytes(40);
  return m;
}

const heartbeat: Message = {
  type: MessageType.Heartbeat,
  from: 1,
  to: 2,
  term: 5,
  logTerm: 0,
  index: 0,
  entries: [],
  commit: 17,
  reject: false,
  rejectHint: 0,
};

describe("transport message codec", () => {
  test("every message type round-trips with and without optional fields", () => {
    for (const type of ALL_TYPES) {
      const plain: Message = { ...heartbeat, type };
      assert.deepEqual(decodeMessage(encodeMessage(plain)), plain);
      const full: Message = {
        ...plain,
        entries: [{ term: 5, index: 9, type: EntryType.ConfChange, data: new Uint8Array([1, 2]) }],
        reject: true,
        rejectHint: 3,
        snapshot: {
          metadata: { index: 8, term: 4, confState: { voters: [1, 2, 3], learners: [4] } },
          data: new Uint8Array(0),
        },
        context: new Uint8Array(0),
      };
      assert.deepEqual(decodeMessage(encodeMessage(full)), full);
    }
  });

  test("a heartbeat is compact: zero fields are left out", () => {
    assert.equal(encodeMessage(heartbeat).length, 3 + 4 * 8);
  });

  test("3000 seeded random messages round-trip", () => {
    const rand = rng(20240601);
    for (let i = 0; i < 3000; i++) {
      const m = randomMessage(rand);
      assert.deepEqual(decodeMessage(encodeMessage(m)), m, `message ${i}`);
    }
  });

  test("a large snapshot round-trips", () => {
    const data = new Uint8Array(8 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
    const m: Message = {
      ...heartbeat,
      type: MessageType.Snap,
      snapshot: { metadata: { index: 100, term: 3, confState: { voters: [1, 2, 3], learners: [] } }, data },
    };
    const decoded = decodeMessage(encodeMessage(m));
    assert.equal(decoded.snapshot?.data.length, data.length);
    assert.ok(Buffer.from(decoded.snapshot?.data ?? []).equals(Buffer.from(data)));
  });

  test("every truncation of a message is a CodecError, never a crash", () => {
    const rand = rng(7);
    for (let n = 0; n < 25; n++) {
      const bytes = encodeMessage(randomMessage(rand));
      for (let cut = 0; cut < bytes.length; cut++) {
        assert.throws(() => decodeMessage(bytes.subarray(0, cut)), CodecError, `message ${n} cut at ${cut}`);
      }
    }
  });

  test("random byte corruption either decodes or throws CodecError", () => {
    const rand = rng(99);
    for (let n = 0; n < 2000; n++) {
      const bytes = Buffer.from(encodeMessage(randomMessage(rand)));
      for (let k = 0; k < 3; k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      try {
        decodeMessage(bytes);
      } catch (err) {
        assert.ok(err instanceof CodecError, `unexpected ${String(err)}`);
      }
    }
  });

  test("unknown type, unknown flags, trailing bytes and invalid values are named", () => {
    const good = Buffer.from(encodeMessage(heartbeat));
    const badType = Buffer.from(good);
    badType[0] = 200;
    assert.throws(() => decodeMessage(badType), /unknown type code 200/);
    const badFlags = Buffer.from(good);
    badFlags[2] = 0xff;
    assert.throws(() => decodeMessage(badFlags), /unknown flag bits/);
    assert.throws(
      () => decodeMessage(Buffer.concat([good, Buffer.from([0])])),
      /1 unexpected trailing bytes/,
    );
    assert.throws(
      () => encodeMessage({ ...heartbeat, term: -1 }),
      /term must be a non-negative safe integer/,
    );
    assert.throws(
      () => encodeMessage({ ...heartbeat, type: "MsgBogus" as MessageType }),
      /unknown message type/,
    );
  });
});

describe("transport wire framing", () => {
  test("hello and ack round-trip; bad magic is refused", () => {
    const hello = {
      version: 1,
      channel: Channel.Snapshot,
      clusterId: (1n << 64n) - 1n,
      from: 3,
      to: 2 ** 53 - 1,
    };
    assert.deepEqual(decodeHello(encodeHello(hello)), hello);
    const ack = { version: 1, status: HelloStatus.ClusterMismatch, clusterId: 0xdeadbeefn, memberId: 9 };
    assert.deepEqual(decodeAck(encodeAck(ack)), ack);
    assert.throws(() => decodeHello(Buffer.alloc(32, 0x47)), WireError);
    assert.throws(() => encodeHello({ ...hello, clusterId: 1n << 64n }), /does not fit in 64 bits/);
  });

  test("frames are reassembled from any chunking, in order", () => {
    const rand = rng(3);
    const frames = Array.from({ length: 200 }, (_, i) =>
      controlFrame(
        i % 2 ? FrameKind.Message : FrameKind.Ping,
        Buffer.alloc(Math.floor(rand() * 3000), i & 0xff),
      ),
    );
    const stream = Buffer.concat(frames);
    for (const maxChunk of [1, 3, 7, 100, 5000, stream.length]) {
      const q = new ByteQueue(1 << 20);
      const got: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const n = 1 + Math.floor(rand() * maxChunk);
        q.push(stream.subarray(at, at + n));
        at += n;
        for (let f = q.nextFrame(); f; f = q.nextFrame()) got.push(controlFrame(f.kind, f.payload));
      }
      assert.equal(got.length, frames.length, `chunk size ${maxChunk}`);
      for (const [i, g] of got.entries()) {
        assert.ok(g.equals(frames[i] as Buffer), `frame ${i} with chunk size ${maxChunk}`);
      }
      assert.equal(q.length, 0);
    }
  });

  test("an oversized frame length is refused before it is buffered", () => {
    const q = new ByteQueue(1000);
    const header = Buffer.alloc(5);
    header.writeUInt32LE(1001, 0);
    q.push(header);
    assert.throws(() => q.nextFrame(), /exceeds the limit of 1000/);
  });
});

describe("fault specs and peer urls", () => {
  test("cut, heal, delay and clear", () => {
    const f = new TransportFaults();
    f.applyFaultSpec("cut:2,3; delay:4=150");
    assert.ok(f.isCut(2) && f.isCut(3) && !f.isCut(4));
    assert.equal(f.delayOf(4), 150);
    assert.equal(f.describe(), "cut:2,3;delay:4=150");
    f.applyFaultSpec("heal:2");
    assert.equal(f.describe(), "cut:3;delay:4=150");
    f.applyFaultSpec("heal");
    assert.equal(f.describe(), "delay:4=150");
    f.applyFaultSpec("cut:0x10;clear");
    assert.equal(f.describe(), "");
  });

  test("an invalid spec changes nothing and says why", () => {
    const f = new TransportFaults();
    assert.throws(() => f.applyFaultSpec("cut:2;frobnicate:3"), FaultSpecError);
    assert.equal(f.describe(), "");
    assert.throws(() => f.applyFaultSpec("cut:"), /names no member/);
    assert.throws(() => f.applyFaultSpec("cut:two"), /not a member id/);
    assert.throws(() => f.applyFaultSpec("delay:2"), /expected delay/);
  });

  test("peer urls in etcd's form", () => {
    assert.deepEqual(parsePeerUrl("http://127.0.0.1:2380"), { host: "127.0.0.1", port: 2380 });
    assert.deepEqual(parsePeerUrl("http://[::1]:0"), { host: "::1", port: 0 });
    assert.throws(() => parsePeerUrl("https://a:1"), /not supported/);
    assert.throws(() => parsePeerUrl("http://a"), /no port/);
    assert.throws(() => parsePeerUrl("nonsense"), /not a URL/);
    assert.throws(() => parsePeerUrl("http://a:1/x"), /path/);
  });
});
