// Seeded fuzzing of the DNS server over UDP and TCP: random bytes, mutated queries (bit flips, cuts,
// splices), compression-pointer loops, absurd section counts, odd names and types. The server
// must answer only with packets dns-packet can decode (id echoed), and still answer correctly after.
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import * as dnsPacket from "dns-packet";
import { seededRandom } from "../../src/apiserver/resources/index.js";
import { waitFor } from "../support/require.js";
import { type DnsFixture, HELLO_IP, startFixture } from "./cluster-fixture.js";
import { queryPacket, udpQuery } from "./support.js";

const ADDRESS = "127.53.0.4";
const SEED = 0x6b697465;
const UDP_PACKETS = 3000;
const TCP_STREAMS = 200;

const NAMES = [
  "hello.default.svc.cluster.local",
  "_http._tcp.hello.default.svc.cluster.local",
  "db.default.svc.cluster.local",
  "10-244-1-9.default.pod.cluster.local",
  "50.0.96.10.in-addr.arpa",
  "example.com",
  "cluster.local",
  "a.b.c.d.e.f.g.cluster.local",
];
const TYPES: dnsPacket.RecordType[] = [
  "A",
  "AAAA",
  "SRV",
  "PTR",
  "TXT",
  "SOA",
  "NS",
  "CNAME",
  "MX",
  "ANY" as never,
];

function makePacket(rand: () => number): Buffer {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const kind = Math.floor(rand() * 6);
  if (kind === 0)
    return Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
  const base = Buffer.from(
    queryPacket(pick(NAMES), pick(TYPES), { id: Math.floor(rand() * 65536), edns: rand() < 0.5 }),
  );
  if (kind === 1) {
    for (let i = 0, n = 1 + Math.floor(rand() * 8); i < n; i++) {
      const at = Math.floor(rand() * base.length);
      base[at] = base[at]! ^ (1 << Math.floor(rand() * 8));
    }
    return base;
  }
  if (kind === 2) return base.subarray(0, Math.floor(rand() * base.length));
  if (kind === 3) {
    // Section counts up to 65535, or a name that is a pointer to itself.
    base.writeUInt16BE(Math.floor(rand() * 65536), 4 + 2 * Math.floor(rand() * 4));
    if (rand() < 0.5) base.writeUInt16BE(0xc00c, 12);
    return base;
  }
  if (kind === 4) {
    const junk = Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
    return Buffer.concat([base, junk]);
  }
  // A well-formed query for an odd name: long labels, bytes outside ASCII, dots inside labels.
  const labels = Array.from({ length: 1 + Math.floor(rand() * 5) }, () =>
    Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 63) }, () => Math.floor(rand() * 256))),
  );
  const name = Buffer.concat([
    ...labels.flatMap((l) => [Buffer.from([l.length]), l]),
    Buffer.from("\x07cluster\x05local\x00", "latin1"),
  ]);
  const header = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(Math.floor(rand() * 65536), 0);
  tail.writeUInt16BE(rand() < 0.8 ? 1 : Math.floor(rand() * 65536), 2);
  return Buffer.concat([header, name, tail]);
}

describe("dns fuzz", () => {
  let fx: DnsFixture;
  before(async () => {
    fx = await startFixture(ADDRESS);
  });
  after(async () => {
    await fx?.close();
  });

  test(`${UDP_PACKETS} seeded malformed UDP packets: every answer decodes, server still answers`, async () => {
    const rand = seededRandom(SEED);
    const sock = createSocket("udp4");
    let answered = 0;
    const bad: string[] = [];
    sock.on("message", (msg) => {
      answered++;
      try {
        dnsPacket.decode(msg);
      } catch (err) {
        bad.push(`${(err as Error).message}: ${msg.toString("hex")}`);
      }
    });
    try {
      await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
      for (let i = 0; i < UDP_PACKETS; i++) {
        sock.send(makePacket(rand), fx.dns.port, ADDRESS);
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
      }
      const before = answered;
      await waitFor(async () => {
        const r = await udpQuery(ADDRESS, fx.dns.port, "hello.default.svc.cluster.local", "A");
        return r.answers?.[0]?.type === "A" && (r.answers[0] as dnsPacket.StringAnswer).data === HELLO_IP;
      });
      assert.deepEqual(bad, []);
      assert.deepEqual(
        fx.logs.filter((l) => l.includes("failed")),
        [],
      );
      assert.ok(before > UDP_PACKETS / 3, `only ${before} answers`);
    } finally {
      sock.close();
    }
  });

  test(`${TCP_STREAMS} seeded malformed TCP streams: the server closes or answers, then still serves`, async () => {
    const rand = seededRandom(SEED + 1);
    for (let i = 0; i < TCP_STREAMS; i++) {
      const parts: Buffer[] = [];
      for (let j = 0, n = 1 + Math.floor(rand() * 3); j < n; j++) {
        const msg = makePacket(rand);
        const len = Buffer.alloc(2);
        // Sometimes a length that lies.
        len.writeUInt16BE(rand() < 0.8 ? msg.length : Math.floor(rand() * 65536), 0);
        parts.push(len, msg);
      }
      const stream = Buffer.concat(parts);
      await new Promise<void>((resolve) => {
        const sock = connect(fx.dns.port, ADDRESS, () => {
          sock.end(rand() < 0.5 ? stream : stream.subarray(0, Math.floor(rand() * stream.length)));
        });
        sock.on("data", () => {});
        sock.on("error", () => resolve());
        sock.on("close", () => resolve());
        sock.setTimeout(2000, () => sock.destroy());
      });
    }
    const r = await udpQuery(ADDRESS, fx.dns.port, "hello.default.svc.cluster.local", "A");
    assert.equal((r.answers?.[0] as dnsPacket.StringAnswer | undefined)?.data, HELLO_IP);
  });
});
