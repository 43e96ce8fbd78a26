// The userspace proxy as `kite up` runs it: NodePorts on each node's own IP, UDP through the
// ClusterIP, and two nodes' proxies sharing the host, where the second finds the ClusterIP taken
// (EADDRINUSE), says so once, and takes over when the first stops.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { RestClient } from "../../src/client/index.js";
import { type Proxy as KubeProxy, startProxy } from "../../src/proxy/index.js";
import { startCluster, type TestCluster } from "../client/cluster.js";
import { freePort } from "../support/ports.js";
import { waitFor } from "../support/require.js";
import {
  ask,
  askUdp,
  createService,
  putSlice,
  sliceObject,
  subnet,
  TEST_SERVICE_RANGE,
  tally,
  tcpEcho,
  udpEcho,
  waitForAnswer,
} from "./support.js";

let cluster: TestCluster;
let client: RestClient;
const podNet = subnet("127.244");
const nodeNet = subnet("127.1");

before(async () => {
  cluster = await startCluster({ serviceClusterIpRange: TEST_SERVICE_RANGE });
  client = cluster.client();
});

after(async () => {
  await cluster?.close();
});

async function proxyFor(node: number, logs: string[] = []): Promise<KubeProxy> {
  const proxy = await startProxy({
    client,
    nodeName: `kite-proxy-node-${node}`,
    nodeIP: `${nodeNet}.${node}`,
    healthzPort: -1,
    metricsPort: -1,
    bindRetryMs: 50,
    log: (m) => logs.push(m),
  });
  await waitFor(() => proxy.synced(), 20_000, `proxy ${node} synced`);
  return proxy;
}

test("a NodePort service is reachable on each node's IP and on its ClusterIP", async (t) => {
  const p1 = await proxyFor(1);
  t.after(() => p1.stop());
  const p2 = await proxyFor(2);
  t.after(() => p2.stop());
  const target = await freePort();
  const backend = await tcpEcho(`${podNet}.10`, target, "np-0");
  t.after(() => backend.close());
  const port = await freePort();
  const svc = await createService(client, "np", {
    type: "NodePort",
    ports: [{ port, targetPort: target, protocol: "TCP" }],
  });
  const nodePort = (svc.spec?.ports as Array<{ nodePort: number }> | undefined)?.[0]?.nodePort ?? 0;
  assert.ok(nodePort >= 30000 && nodePort <= 32767);
  await putSlice(client, sliceObject("np", "np-a", [{ port: target }], [{ ip: `${podNet}.10` }]));
  for (const [proxy, node] of [
    [p1, 1],
    [p2, 2],
  ] as const)
    await waitFor(
      () => proxy.frontends().bound.includes(`TCP/${nodeNet}.${node}:${nodePort}`),
      10_000,
      `node ${node} NodePort bound`,
    );
  assert.equal(await waitForAnswer(`${nodeNet}.1`, nodePort), "np-0");
  assert.equal(await ask(`${nodeNet}.2`, nodePort), "np-0");
  assert.equal(await ask(svc.spec?.clusterIP as string, port), "np-0");
});

test("UDP datagrams reach the endpoints through the ClusterIP and replies come back from it", async (t) => {
  const proxy = await proxyFor(3);
  t.after(() => proxy.stop());
  const target = await freePort();
  const backends = [
    await udpEcho(`${podNet}.20`, target, "dns-0"),
    await udpEcho(`${podNet}.21`, target, "dns-1"),
  ];
  t.after(() => Promise.all(backends.map((b) => b.close())));
  const port = await freePort();
  const svc = await createService(client, "dns", { ports: [{ name: "dns", port, protocol: "UDP" }] });
  const ip = svc.spec?.clusterIP as string;
  await putSlice(
    client,
    sliceObject(
      "dns",
      "dns-a",
      [{ name: "dns", port: target, protocol: "UDP" }],
      [{ ip: `${podNet}.20` }, { ip: `${podNet}.21` }],
    ),
  );
  await waitFor(() => proxy.frontends().bound.includes(`UDP/${ip}:${port}`), 10_000, "UDP frontend bound");
  await waitFor(
    () =>
      askUdp(ip, port, "warm-up", 300).then(
        () => true,
        () => false,
      ),
    10_000,
    "UDP endpoints in use",
  );
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const reply = await askUdp(ip, port, `ping${i}`);
    assert.equal(reply.from, `${ip}:${port}`);
    const [who, text] = reply.text.split(":");
    assert.equal(text, `ping${i}`);
    seen.add(who!);
  }
  assert.deepEqual([...seen].sort(), ["dns-0", "dns-1"], "each client session goes round robin");
});

test("two nodes' proxies on one host: EADDRINUSE is tolerated and the second takes over", async (t) => {
  const logs1: string[] = [];
  const logs2: string[] = [];
  const p1 = await proxyFor(4, logs1);
  t.after(() => p1.stop());
  const target = await freePort();
  const backend = await tcpEcho(`${podNet}.30`, target, "shared-0");
  t.after(() => backend.close());
  const port = await freePort();
  const svc = await createService(client, "shared", { ports: [{ port, targetPort: target }] });
  const ip = svc.spec?.clusterIP as string;
  const key = `TCP/${ip}:${port}`;
  await putSlice(client, sliceObject("shared", "shared-a", [{ port: target }], [{ ip: `${podNet}.30` }]));
  await waitFor(() => p1.frontends().bound.includes(key), 10_000, "first proxy bound");
  const p2 = await proxyFor(5, logs2);
  t.after(() => p2.stop());
  await waitFor(() => p2.frontends().pending.includes(key), 10_000, "second proxy sees it taken");
  assert.equal(await waitForAnswer(ip, port), "shared-0");
  // Several retry rounds pass; the conflict is logged once.
  await waitFor(() => logs2.filter((l) => l.includes(key)).length >= 1, 5000, "conflict logged");
  const before = p2.frontends();
  assert.ok(!before.bound.includes(key));
  await p1.stop();
  await waitFor(() => p2.frontends().bound.includes(key), 10_000, "second proxy took over");
  assert.equal(logs2.filter((l) => l.includes(key) && l.includes("address in use")).length, 1);
  assert.deepEqual([...(await tally(ip, port, 3)).keys()], ["shared-0"]);
});
