// The REST client's connection pools: short requests share a bounded pool (a burst waits for a
// connection instead of paying a TLS handshake each), while watches have their own, so any number
// of open watches never starves requests. Connections are counted by a TCP relay in front of a
// real apiserver.
import assert from "node:assert/strict";
import { connect, createServer, type Server } from "node:net";
import { after, before, test } from "node:test";
import { startCluster, type TestCluster } from "./cluster.js";

const CONFIGMAPS = { group: "", version: "v1", resource: "configmaps" };

let cluster: TestCluster;
let relay: Server;
let relayPort = 0;
let connections = 0;

before(async () => {
  cluster = await startCluster();
  const upstream = new URL(cluster.server.url);
  relay = createServer((client) => {
    connections++;
    const server = connect(Number(upstream.port), upstream.hostname);
    client.pipe(server).pipe(client);
    const close = () => {
      client.destroy();
      server.destroy();
    };
    client.on("error", close);
    server.on("error", close);
    client.on("close", close);
    server.on("close", close);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  relayPort = (relay.address() as { port: number }).port;
});

after(async () => {
  await new Promise<void>((resolve) => relay?.close(() => resolve()));
  await cluster?.close();
});

test("a burst of requests uses at most maxConnections connections", async () => {
  const client = cluster.client({ server: `https://127.0.0.1:${relayPort}`, maxConnections: 4 });
  try {
    connections = 0;
    const cms = client.resource(CONFIGMAPS, "default");
    await Promise.all(Array.from({ length: 60 }, (_, i) => cms.create({ metadata: { name: `pool-${i}` } })));
    assert.ok(connections <= 4, `${connections} connections for 60 concurrent requests`);
    assert.equal(
      (await cms.list({ labelSelector: "" })).items.filter((c) => c.metadata?.name?.startsWith("pool-"))
        .length,
      60,
    );
  } finally {
    client.close();
  }
});

test("open watches do not take the requests' connections", async () => {
  const client = cluster.client({ server: `https://127.0.0.1:${relayPort}`, maxConnections: 2 });
  const watches = [];
  try {
    const cms = client.resource(CONFIGMAPS, "default");
    for (let i = 0; i < 5; i++) watches.push(await cms.watch({}));
    const created = await cms.create({ metadata: { name: "after-watches" } });
    assert.equal(created.metadata?.name, "after-watches");
  } finally {
    for (const w of watches) w.stop();
    client.close();
  }
});
