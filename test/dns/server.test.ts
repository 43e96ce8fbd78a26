// The DNS server against a real in-process apiserver: answers over UDP and TCP decoded with
// dns-packet, informer updates visible to the next query, SERVFAIL before sync, TC over 512 bytes,
// EDNS, and CoreDNS's metrics on /metrics.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type * as dnsPacket from "dns-packet";
import type { KubeObject } from "../../src/api/index.js";
import { RestClient } from "../../src/client/index.js";
import { startDns } from "../../src/dns/index.js";
import { waitFor } from "../support/require.js";
import { DB_IPS, type DnsFixture, HELLO_IP, POD_IP, startFixture } from "./cluster-fixture.js";
import { decodeReply, queryPacket, type Reply, show, tcpQuery, tcpRaw, udpQuery, udpRaw } from "./support.js";

const ADDRESS = "127.53.0.1";

describe("dns server", () => {
  let fx: DnsFixture;
  before(async () => {
    fx = await startFixture(ADDRESS);
  });
  after(async () => {
    await fx?.close();
  });

  const udp = (name: string, type: dnsPacket.RecordType, edns = false) =>
    udpQuery(ADDRESS, fx.dns.port, name, type, { edns });
  const answers = (p: dnsPacket.Packet) => (p.answers ?? []).map(show).sort();

  test("A for a ClusterIP service over UDP and TCP; id and question echoed, AA set, TTL 5", async () => {
    for (const ask of [udp, (n: string, t: dnsPacket.RecordType) => tcpQuery(ADDRESS, fx.dns.port, n, t)]) {
      const r = await ask("hello.default.svc.cluster.local", "A");
      assert.equal(r.rcode, "NOERROR");
      assert.ok(r.flag_aa && r.flag_qr);
      assert.equal(r.questions?.[0]?.name, "hello.default.svc.cluster.local");
      assert.deepEqual(answers(r), [`A ${HELLO_IP}`]);
      assert.equal((r.answers?.[0] as dnsPacket.StringAnswer | undefined)?.ttl, 5);
    }
    const raw = await udpRaw(
      ADDRESS,
      fx.dns.port,
      queryPacket("HELLO.default.svc.Cluster.Local", "A", { id: 777 }),
    );
    const r = decodeReply(raw!);
    assert.equal(r.id, 777);
    assert.equal(r.questions?.[0]?.name, "HELLO.default.svc.Cluster.Local");
    assert.deepEqual(answers(r), [`A ${HELLO_IP}`]);
  });

  test("SRV with A records in the additional section; headless endpoints; hostnames", async () => {
    const srv = await udp("_http._tcp.hello.default.svc.cluster.local", "SRV");
    assert.deepEqual(answers(srv), ["SRV 0 100 80 hello.default.svc.cluster.local"]);
    assert.deepEqual((srv.additionals ?? []).map(show), [`A ${HELLO_IP}`]);
    const udpSrv = await udp("_dns._udp.hello.default.svc.cluster.local", "SRV");
    assert.deepEqual(answers(udpSrv), ["SRV 0 100 53 hello.default.svc.cluster.local"]);

    const headless = await udp("db.default.svc.cluster.local", "A");
    assert.deepEqual(
      answers(headless),
      DB_IPS.map((ip) => `A ${ip}`),
    );
    const pet = await udp("db-0.db.default.svc.cluster.local", "A");
    assert.deepEqual(answers(pet), [`A ${DB_IPS[0]}`]);
    assert.equal((await udp("db-2.db.default.svc.cluster.local", "A")).rcode, "NXDOMAIN", "not ready");
    const hsrv = await udp("_pg._tcp.db.default.svc.cluster.local", "SRV");
    assert.deepEqual(answers(hsrv), [
      "SRV 0 50 5432 10-244-1-6.db.default.svc.cluster.local",
      "SRV 0 50 5432 db-0.db.default.svc.cluster.local",
    ]);
    assert.deepEqual((hsrv.additionals ?? []).map((a) => `${a.name} ${show(a)}`).sort(), [
      `10-244-1-6.db.default.svc.cluster.local A ${DB_IPS[1]}`,
      `db-0.db.default.svc.cluster.local A ${DB_IPS[0]}`,
    ]);
  });

  test("ExternalName, pods, PTR", async () => {
    assert.deepEqual(answers(await udp("ext.default.svc.cluster.local", "A")), ["CNAME example.com"]);
    const pod = await udp(`${POD_IP.replace(/\./g, "-")}.default.pod.cluster.local`, "A");
    assert.deepEqual(answers(pod), [`A ${POD_IP}`]);
    assert.equal((await udp("10-1-2-3.default.pod.cluster.local", "A")).rcode, "NXDOMAIN");
    const ptr = await udp("50.0.96.10.in-addr.arpa", "PTR");
    assert.deepEqual(answers(ptr), ["PTR hello.default.svc.cluster.local"]);
    const eptr = await udp("5.1.244.10.in-addr.arpa", "PTR");
    assert.deepEqual(answers(eptr), ["PTR db-0.db.default.svc.cluster.local"]);
    // The kubernetes service the apiserver creates at start.
    assert.deepEqual(answers(await udp("kubernetes.default.svc.cluster.local", "A")), ["A 10.96.0.1"]);
  });

  test("NODATA, NXDOMAIN with SOA, REFUSED outside the zone", async () => {
    const aaaa = await udp("hello.default.svc.cluster.local", "AAAA");
    assert.equal(aaaa.rcode, "NOERROR");
    assert.deepEqual(aaaa.answers, []);
    assert.deepEqual((aaaa.authorities ?? []).map(show), ["SOA ns.dns.cluster.local"]);
    const nx = await udp("nope.default.svc.cluster.local", "A");
    assert.equal(nx.rcode, "NXDOMAIN");
    assert.equal(nx.authorities?.[0]?.type, "SOA");
    assert.equal(nx.authorities?.[0]?.name, "cluster.local");
    const refused = await udp("example.com", "A");
    assert.equal(refused.rcode, "REFUSED");
    assert.deepEqual(refused.answers, []);
  });

  test("changes reach the next query: a new service, then its deletion", async () => {
    const services = fx.client.resource<KubeObject>(
      { group: "", version: "v1", resource: "services" },
      "default",
    );
    await services.create({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "late", namespace: "default" },
      spec: { clusterIP: "10.96.0.77", ports: [{ port: 80 }] },
    });
    let last: Reply | undefined;
    await waitFor(async () => {
      last = await udp("late.default.svc.cluster.local", "A");
      return last.rcode === "NOERROR";
    });
    assert.deepEqual(answers(last!), ["A 10.96.0.77"]);
    await services.delete("late");
    await waitFor(async () => (await udp("late.default.svc.cluster.local", "A")).rcode === "NXDOMAIN");
  });

  test("over 512 bytes: TC over UDP, whole over TCP and with EDNS", async () => {
    const slices = fx.client.resource<KubeObject>(
      { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" },
      "default",
    );
    const services = fx.client.resource<KubeObject>(
      { group: "", version: "v1", resource: "services" },
      "default",
    );
    await services.create({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "big", namespace: "default" },
      spec: { clusterIP: "None", ports: [{ name: "http", port: 80 }] },
    });
    await slices.create({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "big-1", namespace: "default", labels: { "kubernetes.io/service-name": "big" } },
      addressType: "IPv4",
      endpoints: Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.244.9.${i + 1}`] })),
      ports: [{ name: "http", port: 80, protocol: "TCP" }],
    });
    await waitFor(async () => ((await udp("big.default.svc.cluster.local", "A")).answers?.length ?? 0) > 0);
    // dns-packet writes no name compression: 45 bytes per record, so 10 fit in 512, 26 in 1232.
    const small = await udp("big.default.svc.cluster.local", "A");
    assert.ok(small.flag_tc, "TC set");
    assert.ok((small.answers?.length ?? 0) >= 5 && (small.answers?.length ?? 0) <= 11);
    const whole = await tcpQuery(ADDRESS, fx.dns.port, "big.default.svc.cluster.local", "A");
    assert.ok(!whole.flag_tc);
    assert.equal(whole.answers?.length, 60);
    const edns = await udp("big.default.svc.cluster.local", "A", true);
    assert.ok(edns.flag_tc);
    assert.ok((edns.answers?.length ?? 0) > 20);
    const few = await udp("db.default.svc.cluster.local", "A", true);
    assert.ok(!few.flag_tc);
    assert.equal(few.answers?.length, 2);
    assert.ok((few.additionals ?? []).some((a) => a.type === "OPT"));
  });

  test("several queries pipelined on one TCP connection", async () => {
    const msgs = ["hello", "db", "nope"].map((s, i) =>
      queryPacket(`${s}.default.svc.cluster.local`, "A", { id: 100 + i }),
    );
    const out = (await tcpRaw(ADDRESS, fx.dns.port, msgs)).map(decodeReply);
    assert.deepEqual(
      out.map((p) => [p.id, p.rcode]),
      [
        [100, "NOERROR"],
        [101, "NOERROR"],
        [102, "NXDOMAIN"],
      ],
    );
  });

  test("CoreDNS metrics on /metrics", async () => {
    assert.ok(fx.dns.metricsPort !== undefined && fx.dns.metricsPort > 0);
    const res = await fetch(`http://${ADDRESS}:${fx.dns.metricsPort}/metrics`);
    const text = await res.text();
    const server = `dns://${ADDRESS}:${fx.dns.port}`;
    assert.match(
      text,
      new RegExp(
        `coredns_dns_requests_total\\{server="${server.replace(/[.]/g, "\\.")}",zone="cluster\\.local\\.",proto="udp",family="1",type="A"\\} \\d+`,
      ),
    );
    assert.match(text, /coredns_dns_responses_total\{[^}]*zone="\.",rcode="REFUSED"\} \d+/);
    assert.match(text, /coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN"\} \d+/);
    assert.match(text, /coredns_dns_request_duration_seconds_bucket\{le="0\.00025",server=/);
    assert.equal((await fetch(`http://${ADDRESS}:${fx.dns.metricsPort}/ready`)).status, 200);
  });
});

test("SERVFAIL until the informers have synced", async (t) => {
  // An apiserver that is not there: the informers never sync.
  const client = new RestClient({ server: "https://127.0.0.1:1" });
  const dns = await startDns({ client, address: "127.53.0.2", port: 0, metricsPort: -1 });
  t.after(async () => {
    await dns.stop();
    client.close();
  });
  assert.equal(dns.synced(), false);
  assert.equal(dns.metricsPort, undefined);
  const r = await udpQuery("127.53.0.2", dns.port, "hello.default.svc.cluster.local", "A");
  assert.equal(r.rcode, "SERVFAIL");
});
