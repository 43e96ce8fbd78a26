// The pure parts of the proxy: desired state from services and slices, the balancer with a fake
// clock, and the coalescing sync runner.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { FakeClock } from "../../src/client/index.js";
import {
  computeDesiredState,
  healthStatus,
  RoundRobinBalancer,
  SyncRunner,
  usableEndpoints,
} from "../../src/proxy/index.js";
import { sliceObject } from "./support.js";

function svc(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec };
}

function state(services: KubeObject[], slices: KubeObject[], endpoints: KubeObject[] = []) {
  return computeDesiredState({
    services,
    slicesFor: (ns, name) =>
      slices.filter(
        (s) => s.metadata?.namespace === ns && s.metadata?.labels?.["kubernetes.io/service-name"] === name,
      ),
    endpointsFor: (ns, name) =>
      endpoints.find((e) => e.metadata?.namespace === ns && e.metadata?.name === name),
    nodeIP: "127.1.0.1",
  });
}

test("service ports map to frontends and endpoints with the slice's resolved port", () => {
  const s = state(
    [
      svc("web", {
        type: "NodePort",
        clusterIP: "127.96.0.5",
        ports: [
          { name: "http", port: 80, targetPort: "http", nodePort: 30080 },
          { name: "metrics", port: 9090, protocol: "TCP" },
        ],
      }),
    ],
    [
      sliceObject(
        "web",
        "web-a",
        [{ name: "http", port: 8080 }],
        [{ ip: "127.244.0.2" }, { ip: "127.244.0.3", ready: false }],
      ),
      sliceObject(
        "web",
        "web-b",
        [
          { name: "http", port: 8080 },
          { name: "metrics", port: 9100 },
        ],
        [{ ip: "127.244.0.4" }],
      ),
    ],
  );
  assert.deepEqual([...s.frontends.keys()].sort(), [
    "TCP/127.1.0.1:30080",
    "TCP/127.96.0.5:80",
    "TCP/127.96.0.5:9090",
  ]);
  const http = s.servicePorts.get("default/web:http")!;
  assert.deepEqual(
    usableEndpoints(http).map((e) => `${e.ip}:${e.port}`),
    ["127.244.0.2:8080", "127.244.0.4:8080"],
  );
  assert.equal(http.endpoints.length, 3);
  assert.deepEqual(
    usableEndpoints(s.servicePorts.get("default/web:metrics")!).map((e) => `${e.ip}:${e.port}`),
    ["127.244.0.4:9100"],
  );
});

test("headless and ExternalName services get nothing; affinity defaults to 10800 s", () => {
  const s = state(
    [
      svc("headless", { clusterIP: "None", ports: [{ port: 80 }] }),
      svc("ext", { type: "ExternalName", externalName: "example.com" }),
      svc("sticky", { clusterIP: "127.96.0.9", sessionAffinity: "ClientIP", ports: [{ port: 80 }] }),
    ],
    [],
  );
  assert.deepEqual([...s.servicePorts.keys()], ["default/sticky:"]);
  assert.equal(s.servicePorts.get("default/sticky:")!.affinityTimeoutSeconds, 10_800);
});

test("with no ready endpoint, serving terminating ones carry the traffic", () => {
  const s = state(
    [svc("drain", { clusterIP: "127.96.0.7", ports: [{ port: 80 }] })],
    [
      sliceObject(
        "drain",
        "d",
        [{ port: 8080 }],
        [
          { ip: "127.244.0.2", ready: false, serving: true, terminating: true },
          { ip: "127.244.0.3", ready: false, serving: false, terminating: true },
        ],
      ),
    ],
  );
  assert.deepEqual(
    usableEndpoints(s.servicePorts.get("default/drain:")!).map((e) => e.ip),
    ["127.244.0.2"],
  );
});

test("a service without slices falls back to its v1 Endpoints (default/kubernetes)", () => {
  const s = state(
    [svc("kubernetes", { clusterIP: "127.96.0.1", ports: [{ name: "https", port: 443 }] })],
    [],
    [
      {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name: "kubernetes", namespace: "default" },
        subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports: [{ name: "https", port: 6443 }] }],
      },
    ],
  );
  assert.deepEqual(usableEndpoints(s.servicePorts.get("default/kubernetes:https")!), [
    { ip: "127.0.0.1", port: 6443, ready: true, serving: true, terminating: false },
  ]);
});

test("bad ports are skipped, not fatal", () => {
  const s = state(
    [svc("bad", { clusterIP: "127.96.0.8", ports: [{ port: 0 }, { port: 80, protocol: "ICMP" }, null] })],
    [],
  );
  assert.equal(s.servicePorts.size, 0);
});

test("round robin, and ClientIP affinity that expires on the clock", () => {
  const clock = new FakeClock();
  const lb = new RoundRobinBalancer(clock);
  lb.update("s", ["a", "b", "c"]);
  assert.deepEqual(
    [1, 2, 3, 4].map(() => lb.next("s", "c1")),
    ["a", "b", "c", "a"],
  );
  lb.update("t", ["a", "b"], 10);
  assert.equal(lb.next("t", "c1"), "a");
  assert.equal(lb.next("t", "c1"), "a");
  assert.equal(lb.next("t", "c2"), "b");
  assert.equal(lb.next("t", "c1", true), "a", "a reset picks by rotation");
  clock.advance(9_000);
  assert.equal(lb.next("t", "c2"), "b");
  clock.advance(10_000);
  assert.equal(lb.next("t", "c2"), "b", "expired: rotation picks");
  lb.update("t", ["c"], 10);
  assert.equal(lb.next("t", "c1"), "c", "affinity to a removed endpoint is dropped");
  lb.remove("t");
  assert.equal(lb.next("t", "c1"), undefined);
});

test("the sync runner folds bursts into one sync and keeps minInterval between syncs", async () => {
  const clock = new FakeClock();
  let syncs = 0;
  let queued = 0;
  const runner = new SyncRunner(
    async () => {
      syncs++;
    },
    { clock, minIntervalMs: 1000, maxIntervalMs: 0, onQueued: () => queued++ },
  );
  for (let i = 0; i < 5; i++) runner.run();
  clock.advance(0);
  await Promise.resolve();
  await new Promise((r) => setImmediate(r));
  assert.equal(syncs, 1);
  assert.equal(queued, 1);
  runner.run();
  runner.run();
  clock.advance(500);
  await new Promise((r) => setImmediate(r));
  assert.equal(syncs, 1, "min interval not yet over");
  clock.advance(500);
  await new Promise((r) => setImmediate(r));
  assert.equal(syncs, 2);
  await runner.stop();
});

test("health fails only when a queued sync waits past the timeout", () => {
  const base = { nodeName: "n", healthTimeoutMs: 1000, lastUpdatedMs: () => 5000 };
  assert.equal(healthStatus({ ...base, now: () => 9000, oldestQueuedMs: () => 0 }).healthy, true);
  assert.equal(healthStatus({ ...base, now: () => 9000, oldestQueuedMs: () => 8500 }).healthy, true);
  assert.equal(healthStatus({ ...base, now: () => 9000, oldestQueuedMs: () => 7000 }).healthy, false);
});

test("startProxy refuses bad options with a clear error", async () => {
  const { startProxy } = await import("../../src/proxy/index.js");
  const client = {} as never;
  await assert.rejects(startProxy({ client, nodeName: "n", nodeIP: "not-an-ip" }), /nodeIP must be an IPv4/);
  await assert.rejects(startProxy({ client, nodeName: "", nodeIP: "127.1.0.1" }), /nodeName is required/);
  await assert.rejects(
    startProxy({ client, nodeName: "n", nodeIP: "127.1.0.1", healthzPort: 70_000 }),
    /healthzPort must be an integer/,
  );
});
