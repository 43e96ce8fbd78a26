import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import type { KubeObject } from "../../src/api/index.js";
import type { RestClient } from "../../src/client/index.js";
import { type HollowNodes, startHollowNodes } from "../../src/hollow/index.js";
import { type RunningScheduler, startScheduler } from "../../src/scheduler/index.js";
import { startCluster, type TestCluster } from "../client/cluster.js";
import { waitFor } from "../support/require.js";

const PODS = { group: "", version: "v1", resource: "pods" };
const EVENTS = { group: "", version: "v1", resource: "events" };

function pod(name: string, cpu = "100m", extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      containers: [{ name: "c", image: "busybox", resources: { requests: { cpu, memory: "64Mi" } } }],
      ...extra,
    },
  };
}

async function eventsFor(client: RestClient, name: string, reason: string): Promise<KubeObject[]> {
  const all = (await client.resource(EVENTS, "default").list()).items;
  return all.filter((e) => e.involvedObject?.name === name && e.reason === reason);
}

describe("scheduler against a real control plane", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let hollow: HollowNodes;
  let extra: HollowNodes | undefined;
  let scheduler: RunningScheduler;
  const registry = new Registry();

  before(async () => {
    cluster = await startCluster();
    client = cluster.client();
    hollow = await startHollowNodes({ client, nodes: 4, namePrefix: "n-", shape: { cpu: "4" } });
    scheduler = startScheduler({
      client,
      registry,
      identity: "sched-test",
      leaderElect: false,
      initialBackoffMs: 50,
      maxBackoffMs: 200,
    });
  });
  after(async () => {
    await scheduler?.stop();
    await extra?.stop();
    await hollow?.stop();
    await cluster?.close();
  });

  test("pods are bound, spread over the nodes, with Scheduled events and metrics", async () => {
    const pods = client.resource(PODS, "default");
    await Promise.all(Array.from({ length: 20 }, (_, i) => pods.create(pod(`p${i}`))));
    let bound: KubeObject[] = [];
    await waitFor(
      async () => {
        bound = (await pods.list()).items.filter(
          (p) => p.metadata?.name?.startsWith("p") && p.spec?.nodeName,
        );
        return bound.length === 20;
      },
      10_000,
      "20 pods bound",
    );
    const perNode = new Map<string, number>();
    for (const p of bound) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
    assert.equal(perNode.size, 4, `spread: ${JSON.stringify([...perNode])}`);
    for (const n of perNode.values())
      assert.ok(n >= 3 && n <= 7, `balanced: ${JSON.stringify([...perNode])}`);
    await waitFor(
      async () => (await eventsFor(client, "p7", "Scheduled")).length === 1,
      5_000,
      "Scheduled event",
    );
    const [scheduled] = await eventsFor(client, "p7", "Scheduled");
    const p7 = await pods.get("p7");
    assert.equal(scheduled?.message, `Successfully assigned default/p7 to ${p7.spec.nodeName}`);
    assert.equal(scheduled?.source?.component, "default-scheduler");
    // Bound pods then run on their hollow nodes.
    await waitFor(async () => (await pods.get("p7")).status?.phase === "Running", 5_000, "p7 Running");
    const text = await registry.metrics();
    assert.match(
      text,
      /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 20/,
    );
    assert.match(text, /scheduler_pending_pods\{queue="active"\} 0/);
    assert.match(text, /scheduler_scheduling_attempt_duration_seconds_count\{result="scheduled"/);
  });

  test("pods for another scheduler are left alone", async () => {
    const pods = client.resource(PODS, "default");
    await pods.create(pod("other", "100m", { schedulerName: "other-scheduler" }));
    await pods.create(pod("canary"));
    await waitFor(async () => Boolean((await pods.get("canary")).spec?.nodeName), 5_000, "canary bound");
    assert.equal((await pods.get("other")).spec?.nodeName, undefined);
  });

  test("an unschedulable pod gets FailedScheduling and PodScheduled=False, and is bound once a node fits", async () => {
    const pods = client.resource(PODS, "default");
    await pods.create(pod("big", "16"));
    await pods.create(pod("never", "16", { preemptionPolicy: "Never" }));
    const want =
      "0/4 nodes are available: 4 Insufficient cpu. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.";
    await waitFor(
      async () => (await eventsFor(client, "big", "FailedScheduling")).length > 0,
      5_000,
      "event",
    );
    const [event] = await eventsFor(client, "big", "FailedScheduling");
    assert.equal(event?.type, "Warning");
    assert.equal(event?.message, want);
    await waitFor(
      async () =>
        (await pods.get("big")).status?.conditions?.some((c: KubeObject) => c.type === "PodScheduled"),
      5_000,
      "condition",
    );
    const cond = (await pods.get("big")).status.conditions.find((c: KubeObject) => c.type === "PodScheduled");
    assert.equal(cond.status, "False");
    assert.equal(cond.reason, "Unschedulable");
    assert.equal(cond.message, want);
    await waitFor(
      async () => (await eventsFor(client, "never", "FailedScheduling")).length > 0,
      5_000,
      "event",
    );
    const [never] = await eventsFor(client, "never", "FailedScheduling");
    assert.equal(
      never?.message,
      "0/4 nodes are available: 4 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
    );
    // Still pending: an unschedulable pod waits for a cluster event instead of spinning.
    assert.equal((await pods.get("big")).spec?.nodeName, undefined);
    extra = await startHollowNodes({ client, nodes: 1, namePrefix: "large-", shape: { cpu: "64" } });
    await waitFor(
      async () => (await pods.get("big")).spec?.nodeName === "large-0",
      10_000,
      "big bound to large-0",
    );
  });
});

describe("scheduler leader election", () => {
  test("of two schedulers one binds; the other takes over when it stops", async () => {
    const cluster = await startCluster();
    const schedulers: RunningScheduler[] = [];
    let hollow: HollowNodes | undefined;
    try {
      const client = cluster.client();
      hollow = await startHollowNodes({ client, nodes: 2, namePrefix: "le-" });
      const timing = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 };
      for (const identity of ["a", "b"]) schedulers.push(startScheduler({ client, identity, ...timing }));
      await waitFor(() => schedulers.some((s) => s.isLeader()), 10_000, "a leader");
      assert.equal(schedulers.filter((s) => s.isLeader()).length, 1);
      const pods = client.resource(PODS, "default");
      await pods.create(pod("first"));
      await waitFor(async () => Boolean((await pods.get("first")).spec?.nodeName), 10_000, "first bound");
      const leader = schedulers.find((s) => s.isLeader()) as RunningScheduler;
      const follower = schedulers.find((s) => s !== leader) as RunningScheduler;
      await leader.stop();
      await waitFor(() => follower.isLeader(), 10_000, "the follower taking over");
      await pods.create(pod("second"));
      await waitFor(async () => Boolean((await pods.get("second")).spec?.nodeName), 10_000, "second bound");
    } finally {
      for (const s of schedulers) await s.stop();
      await hollow?.stop();
      await cluster.close();
    }
  });
});
