// The userspace proxy's TCP path against a real apiserver and real loopback sockets: round robin,
// endpoint changes, not-ready endpoints, ClientIP affinity, retry past a dead endpoint, no
// endpoints, service deletion, and the health and metrics servers.
import assert from "node:assert/strict";
import { connect, createServer } from "node:net";
import { after, before, test } from "node:test";
import { Registry } from "prom-client";
import type { RestClient } from "../../src/client/index.js";
import { type Proxy as KubeProxy, startProxy } from "../../src/proxy/index.js";
import { startCluster, type TestCluster } from "../client/cluster.js";
import { freePort } from "../support/ports.js";
import { waitFor } from "../support/require.js";
import {
  ask,
  type Backend,
  createService,
  putSlice,
  SERVICES,
  sliceObject,
  subnet,
  TEST_SERVICE_RANGE,
  tally,
  tcpEcho,
  waitForAnswer,
} from "./support.js";

let cluster: TestCluster;
let client: RestClient;
let proxy: KubeProxy;
const logs: string[] = [];
const registry = new Registry();
const podNet = subnet("127.244");
const nodeIP = `${subnet("127.1")}.1`;

before(async () => {
  cluster = await startCluster({ serviceClusterIpRange: TEST_SERVICE_RANGE });
  client = cluster.client();
  proxy = await startProxy({
    client,
    nodeName: "kite-proxy-tcp",
    nodeIP,
    healthzPort: 0,
    metricsPort: 0,
    registry,
    log: (m) => logs.push(m),
  });
  await waitFor(() => proxy.synced(), 20_000, "proxy synced");
});

after(async () => {
  await proxy?.stop();
  await cluster?.close();
});

interface Svc {
  ip: string;
  port: number;
  backends: Backend[];
  close(): Promise<void>;
}

/** A service with n echo backends ("<name>-<i>") on podNet.<base+i>, all on one target port. */
async function serviceWith(
  name: string,
  n: number,
  base: number,
  extra: { spec?: Record<string, unknown>; ready?: (i: number) => boolean; dead?: number[] } = {},
): Promise<Svc> {
  const port = await freePort();
  const target = await freePort();
  const backends: Backend[] = [];
  for (let i = 0; i < n; i++)
    if (!extra.dead?.includes(i))
      backends.push(await tcpEcho(`${podNet}.${base + i}`, target, `${name}-${i}`));
  const svc = await createService(client, name, {
    ports: [{ name: "web", port, targetPort: "http", protocol: "TCP" }],
    ...extra.spec,
  });
  const endpoints = Array.from({ length: n }, (_, i) => ({
    ip: `${podNet}.${base + i}`,
    ready: extra.ready?.(i) ?? true,
  }));
  await putSlice(client, sliceObject(name, `${name}-a`, [{ name: "web", port: target }], endpoints));
  const ip = svc.spec?.clusterIP as string;
  await waitFor(() => proxy.frontends().bound.includes(`TCP/${ip}:${port}`), 10_000, `${name} bound`);
  if (backends.length > 0 && (extra.ready?.(0) ?? true)) await waitForAnswer(ip, port);
  return {
    ip,
    port,
    backends,
    close: async () => {
      await Promise.all(backends.map((b) => b.close()));
    },
  };
}

test("round robin spreads connections evenly over three endpoints", async (t) => {
  const svc = await serviceWith("rr", 3, 10);
  t.after(() => svc.close());
  await waitFor(async () => (await tally(svc.ip, svc.port, 3)).size === 3, 10_000, "all three endpoints");
  const counts = await tally(svc.ip, svc.port, 9);
  assert.deepEqual([...counts.entries()].sort(), [
    ["rr-0", 3],
    ["rr-1", 3],
    ["rr-2", 3],
  ]);
});

test("an endpoint change applies at once, and a not-ready endpoint gets no traffic", async (t) => {
  const svc = await serviceWith("change", 3, 20, { ready: (i) => i !== 2 });
  t.after(() => svc.close());
  await waitFor(async () => (await tally(svc.ip, svc.port, 2)).size === 2, 10_000, "two ready endpoints");
  const before = await tally(svc.ip, svc.port, 6);
  assert.deepEqual([...before.keys()].sort(), ["change-0", "change-1"]);
  // Endpoint 0 leaves, endpoint 2 becomes ready.
  const target = svc.backends[0]!.port;
  await putSlice(
    client,
    sliceObject(
      "change",
      "change-a",
      [{ name: "web", port: target }],
      [{ ip: `${podNet}.21` }, { ip: `${podNet}.22` }],
    ),
  );
  await waitFor(
    async () => {
      const now = await tally(svc.ip, svc.port, 4);
      return !now.has("change-0") && now.has("change-2");
    },
    10_000,
    "new endpoints in use",
  );
  const afterChange = await tally(svc.ip, svc.port, 6);
  assert.deepEqual([...afterChange.keys()].sort(), ["change-1", "change-2"]);
});

test("sessionAffinity ClientIP keeps a client on one endpoint; another client gets the next", async (t) => {
  const svc = await serviceWith("sticky", 3, 30, {
    spec: { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
  });
  t.after(() => svc.close());
  const a = await tally(svc.ip, svc.port, 6, "127.0.0.1");
  assert.equal(a.size, 1, `client A spread over ${[...a.keys()]}`);
  const b = await tally(svc.ip, svc.port, 6, "127.0.0.2");
  assert.equal(b.size, 1, `client B spread over ${[...b.keys()]}`);
  assert.notEqual([...a.keys()][0], [...b.keys()][0]);
});

test("a dead endpoint costs a retry, never a failed connection", async (t) => {
  const svc = await serviceWith("dead", 3, 40, { dead: [1] });
  t.after(() => svc.close());
  const counts = await tally(svc.ip, svc.port, 9);
  assert.deepEqual([...counts.keys()].sort(), ["dead-0", "dead-2"]);
  assert.equal((counts.get("dead-0") ?? 0) + (counts.get("dead-2") ?? 0), 9);
  assert.ok(
    logs.some((l) => l.includes("dial") && l.includes(`${podNet}.41`)),
    "dial failure logged",
  );
});

test("a service without ready endpoints closes connections at once", async () => {
  const port = await freePort();
  const svc = await createService(client, "empty", { ports: [{ port, protocol: "TCP" }] });
  const ip = svc.spec?.clusterIP as string;
  await putSlice(client, sliceObject("empty", "empty-a", [{ port: 1 }], []));
  await waitFor(() => proxy.frontends().bound.includes(`TCP/${ip}:${port}`), 10_000, "empty bound");
  const started = Date.now();
  await assert.rejects(ask(ip, port), /ECONNRESET|closed before an answer/);
  assert.ok(Date.now() - started < 2000, "closed promptly");
});

test("deleting a service closes its listener and its open connections", async (t) => {
  const svc = await serviceWith("gone", 1, 50);
  t.after(() => svc.close());
  const conn = connect({ host: svc.ip, port: svc.port });
  conn.on("error", () => {});
  let closed = false;
  conn.on("close", () => {
    closed = true;
  });
  t.after(() => conn.destroy());
  await new Promise<void>((resolve, reject) => {
    conn.once("data", () => resolve());
    conn.once("close", () => reject(new Error("connection closed before the backend answered")));
  });
  await client.resource(SERVICES, "default").delete("gone");
  await waitFor(() => closed, 10_000, "connection closed");
  await waitFor(
    () => !proxy.frontends().bound.includes(`TCP/${svc.ip}:${svc.port}`),
    10_000,
    "listener gone",
  );
  await assert.rejects(ask(svc.ip, svc.port), /ECONNREFUSED/);
});

test("a half-closed request gets its whole large answer, and no connection is left counted", async (t) => {
  const target = await freePort();
  const backendIP = `${podNet}.60`;
  const payload = Buffer.alloc(4 << 20, 7);
  // Answers only once the client has finished sending (half-close), then closes.
  const server = createServer({ allowHalfOpen: true }, (s) => {
    let got = 0;
    s.on("data", (d) => {
      got += d.length;
    });
    s.on("end", () => {
      s.write(`${got}\n`);
      s.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: backendIP, port: target }, resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = await freePort();
  const svc = await createService(client, "bulk", { ports: [{ port, targetPort: target }] });
  const ip = svc.spec?.clusterIP as string;
  await putSlice(client, sliceObject("bulk", "bulk-a", [{ port: target }], [{ ip: backendIP }]));
  await waitFor(() => proxy.frontends().bound.includes(`TCP/${ip}:${port}`), 10_000, "bulk bound");
  const exchange = () =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const c = connect({ host: ip, port, allowHalfOpen: true });
      c.on("data", (d) => chunks.push(d));
      c.on("end", () => {
        c.end();
        resolve(Buffer.concat(chunks));
      });
      c.on("error", reject);
      c.end(Buffer.alloc(100_000, 1));
    });
  // The slice may reach the proxy a moment after the listener: retry until the endpoint answers.
  let answer: Buffer = Buffer.alloc(0);
  await waitFor(
    async () => {
      answer = await exchange().catch(() => Buffer.alloc(0));
      return answer.length > 0;
    },
    10_000,
    "bulk answer",
  );
  const nl = answer.indexOf(10);
  assert.equal(answer.subarray(0, nl).toString(), "100000");
  assert.equal(answer.length - nl - 1, payload.length);
  await waitFor(
    async () => /kubeproxy_userspace_active_connections\{protocol="TCP"\} 0/.test(await registry.metrics()),
    10_000,
    "no active connections",
  );
});

test("healthz answers JSON with lastUpdated and metrics use upstream names", async () => {
  const hz = await fetch(`http://${nodeIP}:${proxy.healthzPort}/healthz`);
  assert.equal(hz.status, 200);
  const body = (await hz.json()) as { lastUpdated: string; currentTime: string };
  assert.ok(Date.parse(body.lastUpdated) > 0 && Date.parse(body.currentTime) >= Date.parse(body.lastUpdated));
  const text = await (await fetch(`http://${nodeIP}:${proxy.metricsPort}/metrics`)).text();
  for (const name of [
    "kubeproxy_sync_proxy_rules_duration_seconds_bucket",
    "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
    "kubeproxy_sync_proxy_rules_endpoint_changes_total",
    "kubeproxy_sync_proxy_rules_service_changes_total",
    'kubeproxy_userspace_connections_total{protocol="TCP"}',
    "kubeproxy_userspace_endpoint_dial_failures_total",
  ])
    assert.ok(text.includes(name), `metrics lack ${name}`);
  const mode = await (await fetch(`http://${nodeIP}:${proxy.metricsPort}/proxyMode`)).text();
  assert.equal(mode, "userspace");
});
