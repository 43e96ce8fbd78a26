// Seeded fuzzing of the gRPC layer over the real store: random and malformed requests (random
// byte keys, bad ranges and revisions, random nested txns, bad lease ids, oversized values,
// undecodable messages, garbage bytes on the socket). Every call must get a valid response or
// an etcd/gRPC error (never an internal error), and the server must keep serving.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { call, type Harness, startHarness } from "./harness.js";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.KITE_FUZZ_SEED ?? 20240611);
const REQUESTS = 3000;
const rand = mulberry32(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

function bytes(): Buffer {
  if (rand() < 0.1) return Buffer.alloc(0);
  if (rand() < 0.5) return Buffer.from(`k${int(20)}`);
  return Buffer.from(Array.from({ length: 1 + int(12) }, () => int(256)));
}
const int64 = () =>
  pick(["0", "1", "-1", String(int(50)), "9223372036854775807", "-9223372036854775808", String(int(1e6))]);
const enumValue = () => pick([0, 1, 2, 3, 4, 5, 99]);

function rangeReq(): object {
  return {
    key: bytes(),
    range_end: pick([Buffer.alloc(0), Buffer.from([0]), bytes()]),
    limit: int64(),
    revision: rand() < 0.7 ? "0" : int64(),
    sort_order: enumValue(),
    sort_target: enumValue(),
    serializable: rand() < 0.5,
    keys_only: rand() < 0.3,
    count_only: rand() < 0.2,
    min_mod_revision: rand() < 0.8 ? "0" : int64(),
    max_create_revision: rand() < 0.8 ? "0" : int64(),
  };
}
function putReq(): object {
  return {
    key: bytes(),
    value: rand() < 0.01 ? Buffer.alloc(70 * 1024) : bytes(),
    lease: rand() < 0.8 ? "0" : int64(),
    prev_kv: rand() < 0.5,
    ignore_value: rand() < 0.1,
    ignore_lease: rand() < 0.1,
  };
}
const delReq = () => ({
  key: bytes(),
  range_end: pick([Buffer.alloc(0), Buffer.from([0]), bytes()]),
  prev_kv: rand() < 0.5,
});
function op(depth: number): object {
  const r = rand();
  if (r < 0.05) return {};
  if (r < 0.35) return { request_range: rangeReq() };
  if (r < 0.7) return { request_put: putReq() };
  if (r < 0.9 || depth > 2) return { request_delete_range: delReq() };
  return { request_txn: txnReq(depth + 1) };
}
function txnReq(depth = 0): object {
  const n = () => (rand() < 0.02 ? 130 : int(4));
  return {
    compare: Array.from({ length: n() }, () => ({
      result: enumValue(),
      target: enumValue(),
      key: bytes(),
      range_end: rand() < 0.2 ? bytes() : Buffer.alloc(0),
      [pick(["version", "create_revision", "mod_revision", "lease"])]: int64(),
    })),
    success: Array.from({ length: n() }, () => op(depth)),
    failure: Array.from({ length: n() }, () => op(depth)),
  };
}

let h: Harness;
before(async () => {
  h = await startHarness({ maxRequestBytes: 64 * 1024 });
});
after(async () => {
  await h.stop();
});

test(`fuzz: ${REQUESTS} random requests (seed ${SEED}) get a response or an etcd error`, {
  timeout: 120_000,
}, async () => {
  const clients = { KV: h.client("KV"), Lease: h.client("Lease"), Maintenance: h.client("Maintenance") };
  const plans: [keyof typeof clients, string, () => object][] = [
    ["KV", "Range", rangeReq],
    ["KV", "Put", putReq],
    ["KV", "DeleteRange", delReq],
    ["KV", "Txn", () => txnReq()],
    ["KV", "Compact", () => ({ revision: int64(), physical: rand() < 0.5 })],
    ["Lease", "LeaseGrant", () => ({ TTL: int64(), ID: rand() < 0.7 ? "0" : int64() })],
    ["Lease", "LeaseRevoke", () => ({ ID: int64() })],
    ["Lease", "LeaseTimeToLive", () => ({ ID: int64(), keys: rand() < 0.5 })],
    ["Maintenance", "HashKV", () => ({ revision: int64() })],
    ["Maintenance", "Alarm", () => ({ action: enumValue(), alarm: enumValue(), memberID: int64() })],
  ];
  const outcomes = new Map<string, number>();
  for (let done = 0; done < REQUESTS; ) {
    const batch = Array.from({ length: 25 }, () => {
      const [svc, method, make] = pick(plans);
      return call(clients[svc], method, make()).then((r) => ({ method, ...r }));
    });
    for (const r of await Promise.all(batch)) {
      done++;
      if (r.err) {
        assert.notEqual(r.err.code, grpc.status.INTERNAL, `${r.method}: ${r.err.details}`);
        assert.notEqual(r.err.code, grpc.status.UNKNOWN, `${r.method}: ${r.err.details}`);
        assert.ok(r.err.details.length > 0);
      } else {
        assert.ok(r.resp, `${r.method} answered neither a response nor an error`);
      }
      const key = r.err ? `${r.method} ${r.err.details}` : `${r.method} ok`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
  }
  // The fuzzer reached both sides: successes and etcd's validation errors.
  assert.ok(outcomes.get("Put ok"), "some puts succeeded");
  assert.ok([...outcomes.keys()].some((k) => k.includes("duplicate key given in txn request")));
  assert.ok([...outcomes.keys()].some((k) => k.includes("key is not provided")));

  // Undecodable messages: a raw call whose bytes are random.
  const kv = clients.KV;
  for (let i = 0; i < 50; i++) {
    const garbage = Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)));
    await new Promise<void>((resolve) => {
      kv.makeUnaryRequest(
        "/etcdserverpb.KV/Range",
        (x: Buffer) => x,
        (x: Buffer) => x,
        garbage,
        () => resolve(),
      );
    });
  }
  // Garbage on the socket, with and without the HTTP/2 preface.
  const [host, port] = h.endpoint.split(":");
  for (const preface of [Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.alloc(0)]) {
    for (let i = 0; i < 10; i++) {
      await new Promise<void>((resolve) => {
        const sock = connect(Number(port), host as string, () => {
          sock.write(Buffer.concat([preface, Buffer.from(Array.from({ length: 200 }, () => int(256)))]));
          sock.end();
        });
        // The server answers (HTTP/1 400, or HTTP/2 SETTINGS/GOAWAY) or hangs up; either will do.
        const done = () => {
          sock.destroy();
          resolve();
        };
        sock.on("data", done);
        sock.on("error", done);
        sock.on("close", done);
      });
    }
  }

  // The fuzzer may have armed a NOSPACE alarm (which rightly blocks puts): disarm them all.
  const { resp: alarms } = await call(clients.Maintenance, "Alarm", { action: 0 });
  for (const a of (alarms?.alarms ?? []) as object[])
    await call(clients.Maintenance, "Alarm", { action: 2, ...a });
  const put = await call(kv, "Put", { key: Buffer.from("after-fuzz"), value: Buffer.from("still serving") });
  assert.ok(put.resp, put.err?.details);
  const get = await call(kv, "Range", { key: Buffer.from("after-fuzz") });
  assert.deepEqual(
    (get.resp?.kvs as { value: Buffer }[] | undefined)?.[0]?.value,
    Buffer.from("still serving"),
  );
});
