// The resolver over a fake cluster view: every record kind of the Kubernetes DNS specification,
// NODATA vs NXDOMAIN vs REFUSED, CNAME following, case-insensitivity, and the wire helpers
// (question echoed byte for byte, truncation to 512 bytes with TC).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as dnsPacket from "dns-packet";
import type { ClusterView, DnsEndpoint, DnsService } from "../../src/dns/index.js";
import {
  encodeResponse,
  ipToReverse,
  parseQuery,
  RCODE,
  Resolver,
  reverseToIP,
  TYPE,
} from "../../src/dns/index.js";
import { queryPacket, show } from "./support.js";

const services: DnsService[] = [
  {
    namespace: "default",
    name: "web",
    headless: false,
    clusterIPs: ["10.96.0.20"],
    ports: [
      { name: "http", protocol: "tcp", port: 80 },
      { name: "", protocol: "udp", port: 53 },
    ],
  },
  {
    namespace: "default",
    name: "db",
    headless: true,
    clusterIPs: [],
    ports: [{ name: "pg", protocol: "tcp", port: 5432 }],
  },
  { namespace: "default", name: "empty", headless: true, clusterIPs: [], ports: [] },
  {
    namespace: "default",
    name: "ext",
    headless: false,
    clusterIPs: [],
    ports: [],
    externalName: "example.com",
  },
  {
    namespace: "default",
    name: "alias",
    headless: false,
    clusterIPs: [],
    ports: [],
    externalName: "web.default.svc.cluster.local",
  },
  {
    namespace: "default",
    name: "loop",
    headless: false,
    clusterIPs: [],
    ports: [],
    externalName: "loop.default.svc.cluster.local",
  },
];
const pgPorts = [{ name: "pg", protocol: "tcp", port: 5432 }];
const endpoints: Record<string, DnsEndpoint[]> = {
  "default/db": [
    { ip: "10.244.0.5", hostname: "db-0", ports: pgPorts },
    { ip: "10.244.0.6", hostname: "10-244-0-6", ports: pgPorts },
  ],
};

const view: ClusterView = {
  service: (ns, name) => services.find((s) => s.namespace === ns && s.name === name),
  endpoints: (ns, svc) => endpoints[`${ns}/${svc}`] ?? [],
  namespaceExists: (ns) => services.some((s) => s.namespace === ns),
  podHasIP: (ns, ip) => ns === "default" && ip === "10.244.0.5",
  namesForIP: (ip) =>
    ip === "10.96.0.20" ? ["web.default.svc"] : ip === "10.244.0.5" ? ["db-0.db.default.svc"] : [],
  serial: () => 1700000000,
};
const resolver = new Resolver(view, { zone: "cluster.local", ttl: 5, serverAddress: "127.96.0.10" });

function ask(name: string, type: keyof typeof TYPE) {
  const r = resolver.resolve(name.split("."), TYPE[type], 1);
  return {
    rcode: r.answer.rcode,
    zone: r.zone,
    answers: r.answer.answers.map(show).sort(),
    authority: r.answer.authorities.map(show),
    extra: r.answer.additionals.map((a) => `${a.name} ${show(a)}`).sort(),
  };
}

describe("resolver", () => {
  test("ClusterIP service: A, SRV with the service as target, NODATA for AAAA", () => {
    assert.deepEqual(ask("web.default.svc.cluster.local", "A").answers, ["A 10.96.0.20"]);
    const srv = ask("_http._tcp.web.default.svc.cluster.local", "SRV");
    assert.deepEqual(srv.answers, ["SRV 0 100 80 web.default.svc.cluster.local"]);
    assert.deepEqual(srv.extra, ["web.default.svc.cluster.local A 10.96.0.20"]);
    // SRV on the service name itself lists every port, named or not, as CoreDNS does.
    assert.deepEqual(ask("web.default.svc.cluster.local", "SRV").answers, [
      "SRV 0 50 53 web.default.svc.cluster.local",
      "SRV 0 50 80 web.default.svc.cluster.local",
    ]);
    const aaaa = ask("web.default.svc.cluster.local", "AAAA");
    assert.equal(aaaa.rcode, RCODE.NOERROR);
    assert.deepEqual(aaaa.answers, []);
    assert.deepEqual(aaaa.authority, ["SOA ns.dns.cluster.local"]);
    assert.equal(ask("_http._udp.web.default.svc.cluster.local", "SRV").rcode, RCODE.NXDOMAIN);
    assert.equal(ask("_nope._tcp.web.default.svc.cluster.local", "SRV").rcode, RCODE.NXDOMAIN);
    assert.equal(ask("_tcp.web.default.svc.cluster.local", "SRV").rcode, RCODE.NOERROR);
  });

  test("headless service: endpoint IPs, hostnames, SRV per endpoint, NXDOMAIN with none ready", () => {
    assert.deepEqual(ask("db.default.svc.cluster.local", "A").answers, ["A 10.244.0.5", "A 10.244.0.6"]);
    assert.deepEqual(ask("db-0.db.default.svc.cluster.local", "A").answers, ["A 10.244.0.5"]);
    assert.deepEqual(ask("10-244-0-6.db.default.svc.cluster.local", "A").answers, ["A 10.244.0.6"]);
    const srv = ask("_pg._tcp.db.default.svc.cluster.local", "SRV");
    assert.deepEqual(srv.answers, [
      "SRV 0 50 5432 10-244-0-6.db.default.svc.cluster.local",
      "SRV 0 50 5432 db-0.db.default.svc.cluster.local",
    ]);
    assert.deepEqual(srv.extra, [
      "10-244-0-6.db.default.svc.cluster.local A 10.244.0.6",
      "db-0.db.default.svc.cluster.local A 10.244.0.5",
    ]);
    assert.equal(ask("empty.default.svc.cluster.local", "A").rcode, RCODE.NXDOMAIN);
    assert.equal(ask("db-9.db.default.svc.cluster.local", "A").rcode, RCODE.NXDOMAIN);
  });

  test("ExternalName: CNAME, followed when it points inside the zone, loops cut", () => {
    assert.deepEqual(ask("ext.default.svc.cluster.local", "A").answers, ["CNAME example.com"]);
    assert.deepEqual(ask("ext.default.svc.cluster.local", "CNAME").answers, ["CNAME example.com"]);
    assert.deepEqual(ask("alias.default.svc.cluster.local", "A").answers, [
      "A 10.96.0.20",
      "CNAME web.default.svc.cluster.local",
    ]);
    assert.deepEqual(ask("loop.default.svc.cluster.local", "A").answers, [
      "CNAME loop.default.svc.cluster.local",
    ]);
  });

  test("pods: verified dashed-IP records only", () => {
    assert.deepEqual(ask("10-244-0-5.default.pod.cluster.local", "A").answers, ["A 10.244.0.5"]);
    assert.equal(ask("10-244-0-9.default.pod.cluster.local", "A").rcode, RCODE.NXDOMAIN);
    assert.equal(ask("10-244-0-5.other.pod.cluster.local", "A").rcode, RCODE.NXDOMAIN);
    assert.equal(ask("10-244-0-999.default.pod.cluster.local", "A").rcode, RCODE.NXDOMAIN);
  });

  test("PTR for ClusterIPs and endpoints; unknown IPs NXDOMAIN; reverse names round-trip", () => {
    assert.deepEqual(ask("20.0.96.10.in-addr.arpa", "PTR").answers, ["PTR web.default.svc.cluster.local"]);
    assert.deepEqual(ask("5.0.244.10.in-addr.arpa", "PTR").answers, [
      "PTR db-0.db.default.svc.cluster.local",
    ]);
    const unknown = ask("9.9.9.9.in-addr.arpa", "PTR");
    assert.equal(unknown.rcode, RCODE.NXDOMAIN);
    assert.deepEqual(unknown.authority, ["SOA ns.dns.cluster.local"]);
    assert.equal(ipToReverse("10.96.0.20"), "20.0.96.10.in-addr.arpa");
    const v6 = ipToReverse("fd00::1");
    assert.equal(reverseToIP(v6.split(".").slice(0, -2), "ip6.arpa"), "fd00::1");
  });

  test("zone apex, namespaces, dns-version; case-insensitive; REFUSED outside", () => {
    assert.deepEqual(ask("cluster.local", "SOA").answers, ["SOA ns.dns.cluster.local"]);
    assert.deepEqual(ask("cluster.local", "NS").answers, ["NS ns.dns.cluster.local"]);
    assert.deepEqual(ask("cluster.local", "NS").extra, ["ns.dns.cluster.local A 127.96.0.10"]);
    assert.deepEqual(ask("dns-version.cluster.local", "TXT").answers, ["TXT 1.1.0"]);
    assert.equal(ask("default.svc.cluster.local", "A").rcode, RCODE.NOERROR);
    assert.equal(ask("nope.svc.cluster.local", "A").rcode, RCODE.NXDOMAIN);
    assert.equal(ask("svc.cluster.local", "A").rcode, RCODE.NOERROR);
    assert.equal(ask("what.cluster.local", "A").rcode, RCODE.NXDOMAIN);
    assert.equal(ask("nope.default.svc.cluster.local", "A").rcode, RCODE.NXDOMAIN);
    assert.deepEqual(ask("WEB.Default.SVC.Cluster.LOCAL", "A").answers, ["A 10.96.0.20"]);
    const out = ask("example.com", "A");
    assert.equal(out.rcode, RCODE.REFUSED);
    assert.equal(out.zone, ".");
    assert.equal(ask("local", "A").rcode, RCODE.REFUSED);
    assert.equal(ask("cluster.local", "AXFR").rcode, RCODE.REFUSED);
    assert.equal(
      resolver.resolve(["web", "default", "svc", "cluster", "local"], TYPE.A, 3).answer.rcode,
      RCODE.REFUSED,
    );
    // A label holding a dot (or odd bytes) never matches a record.
    assert.equal(
      resolver.resolve(["web.default", "svc", "cluster", "local"], TYPE.A, 1).answer.rcode,
      RCODE.NXDOMAIN,
    );
  });
});

describe("wire", () => {
  test("question echoed byte for byte with the id, AA set, RD copied", () => {
    const q = queryPacket("WeB.default.svc.cluster.local", "A", { id: 4242 });
    const parsed = parseQuery(q);
    assert.equal(parsed.kind, "query");
    if (parsed.kind !== "query") return;
    const r = resolver.resolve(parsed.query.labels, parsed.query.qtype, parsed.query.qclass);
    const out = encodeResponse(parsed.query, r.answer, 512);
    const d = dnsPacket.decode(out);
    assert.equal(d.id, 4242);
    assert.ok(d.flag_aa && d.flag_rd && d.flag_qr);
    assert.deepEqual(out.subarray(12, 12 + parsed.query.rawQuestion.length), parsed.query.rawQuestion);
    assert.equal(d.questions?.[0]?.name, "WeB.default.svc.cluster.local");
  });

  test("over 512 bytes without EDNS: additionals dropped first, then TC with what fits", () => {
    const many = Array.from({ length: 60 }, (_, i) => ({
      type: "A" as const,
      name: "big.default.svc.cluster.local",
      ttl: 5,
      data: `10.0.0.${i}`,
    }));
    const parsed = parseQuery(queryPacket("big.default.svc.cluster.local", "A"));
    assert.equal(parsed.kind, "query");
    if (parsed.kind !== "query") return;
    const out = encodeResponse(
      parsed.query,
      { rcode: 0, answers: many, authorities: [], additionals: [] },
      512,
    );
    assert.ok(out.length <= 512);
    const d = dnsPacket.decode(out);
    assert.ok(d.flag_tc);
    assert.ok((d.answers?.length ?? 0) > 5 && (d.answers?.length ?? 0) < 60);
    const whole = encodeResponse(parsed.query, { rcode: 0, answers: many, authorities: [], additionals: [] });
    assert.equal(dnsPacket.decode(whole).answers?.length, 60);
  });

  test("malformed input: drop, FORMERR or NOTIMP, never a throw", () => {
    assert.equal(parseQuery(Buffer.alloc(5)).kind, "drop");
    const resp = queryPacket("a.cluster.local", "A");
    resp.writeUInt16BE(resp.readUInt16BE(2) | 0x8000, 2);
    assert.equal(parseQuery(resp).kind, "drop");
    const two = Buffer.from(queryPacket("a.cluster.local", "A"));
    two.writeUInt16BE(2, 4);
    assert.deepEqual(parseQuery(two), {
      kind: "error",
      id: two.readUInt16BE(0),
      opcode: 0,
      rcode: RCODE.FORMERR,
    });
    const cut = queryPacket("a.cluster.local", "A").subarray(0, 20);
    assert.equal(parseQuery(cut).kind, "error");
    const notify = Buffer.from(queryPacket("a.cluster.local", "A"));
    notify.writeUInt16BE((4 << 11) | 0x0100, 2);
    const p = parseQuery(notify);
    assert.ok(p.kind === "error" && p.rcode === RCODE.NOTIMP && p.rawQuestion !== undefined);
  });
});
