import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { FakeClock, LEASES, microTime, type ResourceClient } from "../../src/client/index.js";
import {
  CidrSet,
  evictionDue,
  newNodeLifecycleController,
} from "../../src/controllers/nodelifecycle/index.js";
import { taintKeyFor, withLifecycleTaints } from "../../src/controllers/nodelifecycle/taints.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, type RunningControllers, startControllerEnv } from "./harness.js";

const NODES = { group: "", version: "v1", resource: "nodes" };
const PODS = { group: "", version: "v1", resource: "pods" };
const EVENTS = { group: "", version: "v1", resource: "events" };
const GRACE = 40_000;
const PERIOD = 5_000;

describe("node lifecycle rules", () => {
  test("CidrSet cuts the cluster CIDR into /24s, round-robin, and rejects bad input", () => {
    const set = new CidrSet("10.244.0.0/16");
    assert.equal(set.capacity, 256);
    assert.equal(set.allocateNext(), "10.244.0.0/24");
    assert.ok(set.occupy("10.244.1.0/24"));
    assert.equal(set.allocateNext(), "10.244.2.0/24");
    set.release("10.244.0.0/24");
    assert.equal(set.allocateNext(), "10.244.3.0/24", "round-robin does not reuse at once");
    assert.equal(set.occupy("10.99.0.0/24"), false);
    assert.throws(() => new CidrSet("10.244.0.0"), /invalid CIDR/);
    assert.throws(() => new CidrSet("10.244.0.0/16", 8), /between/);
    assert.throws(() => new CidrSet("fd00::/64"), /invalid/);
  });

  test("the Ready condition picks the taint; tolerations pick the eviction time", () => {
    assert.equal(taintKeyFor({ status: "False" }), "node.kubernetes.io/not-ready");
    assert.equal(taintKeyFor({ status: "Unknown" }), "node.kubernetes.io/unreachable");
    assert.equal(taintKeyFor({ status: "True" }), undefined);
    const notReady = { spec: { taints: [{ key: "other", effect: "NoSchedule" }] } };
    const tainted = withLifecycleTaints(notReady, "node.kubernetes.io/not-ready", "2024-01-01T00:00:00Z");
    assert.deepEqual(
      tainted?.map((t) => `${t.key}:${t.effect}`),
      [
        "other:NoSchedule",
        "node.kubernetes.io/not-ready:NoSchedule",
        "node.kubernetes.io/not-ready:NoExecute",
      ],
    );
    assert.equal(
      withLifecycleTaints({ spec: { taints: tainted } }, "node.kubernetes.io/not-ready", "x"),
      undefined,
    );
    assert.deepEqual(withLifecycleTaints({ spec: { taints: tainted } }, undefined, "x"), [
      { key: "other", effect: "NoSchedule" },
    ]);
    const taint = {
      key: "node.kubernetes.io/not-ready",
      effect: "NoExecute",
      timeAdded: "2024-01-01T00:00:00Z",
    };
    const t0 = Date.parse(taint.timeAdded);
    const pod = (tolerations: KubeObject[]) => ({ spec: { tolerations } });
    const never = () => 0;
    assert.equal(evictionDue(pod([]), [taint], never), Number.NEGATIVE_INFINITY);
    assert.equal(evictionDue(pod([{ operator: "Exists" }]), [taint], never), Number.POSITIVE_INFINITY);
    assert.equal(
      evictionDue(
        pod([
          { key: taint.key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
          { key: taint.key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        ]),
        [taint],
        never,
      ),
      t0 + 30_000,
    );
    assert.equal(
      evictionDue(pod([{ key: "x", operator: "Exists" }]), [taint], never),
      Number.NEGATIVE_INFINITY,
    );
  });
});

describe("node lifecycle controller", () => {
  let env: ControllerTestEnv;
  let nodes: ResourceClient;
  let leases: ResourceClient;
  let pods: ResourceClient;

  before(async () => {
    env = await startControllerEnv();
    nodes = env.client.resource(NODES);
    leases = env.client.resource(LEASES, "kube-node-lease");
    pods = env.client.resource(PODS, "default");
  });
  afterEach(async () => {
    await env.stopAll();
  });
  after(async () => {
    await env.close();
  });

  /** A controller on a fake clock; step() advances one monitor period and waits for that pass. */
  async function start(clock: FakeClock, extra: { clusterCIDR?: string } = {}) {
    let passes = 0;
    const running: RunningControllers = await env.run([
      newNodeLifecycleController({
        clock,
        gracePeriodMs: GRACE,
        monitorPeriodMs: PERIOD,
        onMonitorPass: () => passes++,
        ...extra,
      }),
    ]);
    await waitFor(() => passes > 0, 10_000, "first monitor pass");
    const step = async (n = 1) => {
      for (let i = 0; i < n; i++) {
        const seen = passes;
        clock.advance(PERIOD);
        await waitFor(() => passes > seen, 10_000, "monitor pass");
      }
    };
    return { running, step };
  }

  async function makeNode(name: string, clock: FakeClock): Promise<void> {
    await nodes.create({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name },
      status: {
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "KubeletReady",
            message: "kubelet is posting ready status",
            lastHeartbeatTime: new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
            lastTransitionTime: new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
          },
          { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory" },
        ],
      },
    });
    await leases.create({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace: "kube-node-lease" },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(clock.now()) },
    });
  }

  const renew = async (name: string, clock: FakeClock) =>
    leases.patch(name, "merge", { spec: { renewTime: microTime(clock.now()) } });
  const ready = (node: KubeObject) =>
    (node.status?.conditions ?? []).find((c: KubeObject) => c.type === "Ready")?.status;
  const taintKeys = (node: KubeObject) =>
    (node.spec?.taints ?? []).map((t: KubeObject) => `${t.key}:${t.effect}`).sort();
  const podOn = (name: string, node: string, tolerations: KubeObject[] = []) =>
    pods.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: { nodeName: node, tolerations, containers: [{ name: "c", image: "busybox" }] },
    });
  const evicted = async (name: string) => {
    try {
      return Boolean((await pods.get(name)).metadata?.deletionTimestamp);
    } catch {
      return true;
    }
  };

  test("IPAM gives each node its own /24 of the cluster CIDR and survives a restart", async () => {
    const clock = new FakeClock(Date.now());
    const first = await start(clock);
    for (const n of ["ipam-a", "ipam-b"]) await makeNode(n, clock);
    const cidrOf = async (n: string) => (await nodes.get(n)).spec?.podCIDR as string | undefined;
    await waitFor(
      async () => (await cidrOf("ipam-a")) !== undefined && (await cidrOf("ipam-b")) !== undefined,
    );
    const a = await nodes.get("ipam-a");
    assert.match(a.spec.podCIDR, /^10\.244\.\d+\.0\/24$/);
    assert.deepEqual(a.spec.podCIDRs, [a.spec.podCIDR]);
    await first.running.stop();
    // A node registered while no controller runs gets a subnet nobody holds.
    await makeNode("ipam-c", clock);
    const second = await start(clock);
    await waitFor(async () => (await cidrOf("ipam-c")) !== undefined);
    const all = await Promise.all(["ipam-a", "ipam-b", "ipam-c"].map(cidrOf));
    assert.equal(new Set(all).size, 3, `distinct subnets: ${all}`);
    await second.running.stop();
    for (const n of ["ipam-a", "ipam-b", "ipam-c"]) await nodes.delete(n);
  });

  test("an exhausted cluster CIDR leaves the node without a subnet and says so", async () => {
    const clock = new FakeClock(Date.now());
    const { running } = await start(clock, { clusterCIDR: "10.99.0.0/24" });
    await makeNode("tiny-a", clock);
    await waitFor(async () => (await nodes.get("tiny-a")).spec?.podCIDR === "10.99.0.0/24");
    await makeNode("tiny-b", clock);
    await waitFor(async () =>
      (await env.client.resource(EVENTS, "default").list()).items.some(
        (e) => e.reason === "CIDRNotAvailable" && e.involvedObject?.name === "tiny-b",
      ),
    );
    assert.equal((await nodes.get("tiny-b")).spec?.podCIDR, undefined);
    // Deleting the holder frees the subnet for the waiting node.
    await nodes.delete("tiny-a");
    await waitFor(async () => (await nodes.get("tiny-b")).spec?.podCIDR === "10.99.0.0/24", 20_000);
    await running.stop();
    await nodes.delete("tiny-b");
  });

  test("a silent node turns Unknown within the grace period, is tainted, and its pods evicted after tolerationSeconds", async () => {
    const clock = new FakeClock(Date.now());
    await makeNode("silent", clock);
    await podOn("quick", "silent", [
      {
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 20,
      },
    ]);
    await podOn("default-tol", "silent");
    await podOn("forever", "silent", [{ operator: "Exists" }]);
    const forever = await pods.get("forever");
    forever.status = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
    await pods.updateStatus(forever);
    const { running, step } = await start(clock);
    // Silent for less than the grace period: still Ready.
    await step(GRACE / PERIOD - 1);
    assert.equal(ready(await nodes.get("silent")), "True");
    await step(2);
    const node = await nodes.get("silent");
    assert.equal(ready(node), "Unknown");
    const byType = Object.fromEntries(node.status.conditions.map((c: KubeObject) => [c.type, c]));
    assert.equal(byType.Ready.reason, "NodeStatusUnknown");
    assert.equal(byType.Ready.message, "Kubelet stopped posting node status.");
    assert.equal(byType.MemoryPressure.status, "Unknown");
    assert.equal(byType.DiskPressure.reason, "NodeStatusNeverUpdated");
    assert.deepEqual(taintKeys(node), [
      "node.kubernetes.io/unreachable:NoExecute",
      "node.kubernetes.io/unreachable:NoSchedule",
    ]);
    assert.equal(await evicted("quick"), false, "tolerationSeconds not yet over");
    const podReady = async () =>
      (await pods.get("forever")).status?.conditions?.find((c: KubeObject) => c.type === "Ready")?.status;
    await waitFor(async () => (await podReady()) === "False", 10_000, "pods on the node marked not ready");
    await step(20_000 / PERIOD);
    await waitFor(() => evicted("quick"), 10_000, "quick evicted after 20 s");
    assert.equal(await evicted("default-tol"), false);
    const events = await env.client.resource(EVENTS, "default").list();
    assert.ok(
      events.items.some((e) => e.reason === "TaintManagerEviction" && e.involvedObject?.name === "quick"),
    );
    // Restart before the 300 s default runs out: the deadline counts from the taint's timeAdded.
    await running.stop();
    clock.advance(300_000);
    const again = await start(clock);
    await waitFor(() => evicted("default-tol"), 10_000, "default toleration evicted after restart");
    assert.equal(await evicted("forever"), false, "a toleration without seconds holds forever");
    // The kubelet comes back: Ready again, taints gone.
    const back = await nodes.get("silent");
    back.status.conditions = [
      { type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: microTime(clock.now()) },
    ];
    await nodes.updateStatus(back);
    await again.step();
    await waitFor(async () => taintKeys(await nodes.get("silent")).length === 0, 10_000, "taints removed");
    await again.running.stop();
  });

  test("a node whose Lease is renewed stays Ready though its status is stale (endpoints flapping)", async () => {
    const clock = new FakeClock(Date.now());
    await makeNode("leased", clock);
    const { running, step } = await start(clock);
    for (let i = 0; i < (3 * GRACE) / PERIOD; i++) {
      await step();
      if (i % 2 === 0) await renew("leased", clock);
    }
    let node = await nodes.get("leased");
    assert.equal(ready(node), "True");
    assert.deepEqual(taintKeys(node), []);
    await step(GRACE / PERIOD + 1);
    node = await nodes.get("leased");
    assert.equal(ready(node), "Unknown", "silent once the lease stops too");
    await running.stop();
  });

  test("a NoExecute taint a pod does not tolerate evicts it at once", async () => {
    const clock = new FakeClock(Date.now());
    await makeNode("dedicated", clock);
    await podOn("intruder", "dedicated");
    await podOn("guest", "dedicated", [
      { key: "dedicated", operator: "Equal", value: "db", effect: "NoExecute" },
    ]);
    const { running } = await start(clock);
    await nodes.patch("dedicated", "merge", {
      spec: { taints: [{ key: "dedicated", value: "db", effect: "NoExecute" }] },
    });
    await waitFor(() => evicted("intruder"), 10_000, "intruder evicted");
    assert.equal(await evicted("guest"), false);
    await running.stop();
  });
});
