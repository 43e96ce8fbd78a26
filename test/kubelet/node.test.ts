// Node registration and heartbeats against a real apiserver: the Node's capacity, labels,
// addresses, daemon endpoint, nodeInfo and conditions; the Lease renewed on the (fake) clock; the
// status reported again when another component changed it; podCIDR handed to the runtime; and a
// second start against an existing Node.
import assert from "node:assert/strict";
import { cpus } from "node:os";
import { after, before, test } from "node:test";
import { parseQuantity } from "../../src/api/index.js";
import { FakeClock } from "../../src/client/index.js";
import { startCluster, type TestCluster } from "../client/cluster.js";
import { waitFor } from "../support/require.js";
import { conditionOf, NODE, NODES, startHarness } from "./kubelet-harness.js";

const LEASES = { group: "coordination.k8s.io", version: "v1", resource: "leases" } as const;
let cluster: TestCluster;
before(async () => {
  cluster = await startCluster();
});
after(async () => {
  await cluster?.close();
});

test("registers its Node, renews its Lease, reports status, passes podCIDR to the runtime", async () => {
  const clock = new FakeClock(Date.parse("2026-02-01T00:00:00Z"));
  const h = await startHarness({
    clock,
    cluster,
    kubelet: { labels: { zone: "a" }, taints: [{ key: "k", value: "v", effect: "NoSchedule" }] },
  });
  try {
    const nodes = h.client.resource(NODES);
    const node = await nodes.get(NODE);
    const labels = node.metadata?.labels ?? {};
    assert.equal(labels["kubernetes.io/hostname"], NODE);
    assert.equal(labels["kubernetes.io/os"], "linux");
    assert.ok(labels["kubernetes.io/arch"]);
    assert.equal(labels.zone, "a");
    assert.equal(labels["node.kubernetes.io/instance-type"], undefined);
    assert.deepEqual(node.spec.taints, [{ key: "k", value: "v", effect: "NoSchedule" }]);
    assert.deepEqual(node.status.addresses, [
      { type: "InternalIP", address: "127.0.0.1" },
      { type: "Hostname", address: NODE },
    ]);
    assert.equal(node.status.daemonEndpoints.kubeletEndpoint.Port, h.kubelet.port);
    assert.ok(h.kubelet.port > 0);
    assert.equal(node.status.capacity.pods, "110");
    assert.equal(node.status.capacity.cpu, String(cpus().length));
    const cap = Number(parseQuantity(node.status.capacity.memory).value());
    const alloc = Number(parseQuantity(node.status.allocatable.memory).value());
    assert.equal(cap - alloc, 100 * 1024 * 1024);
    const info = node.status.nodeInfo;
    assert.equal(info.kubeletVersion, "v1.32.0-kite");
    assert.equal(info.containerRuntimeVersion, "fake://0.0.1");
    assert.equal(info.operatingSystem, "linux");
    assert.ok(info.kernelVersion && info.osImage && info.architecture && info.machineID);
    const ready = conditionOf(node, "Ready");
    assert.equal(ready?.status, "True");
    assert.equal(ready?.reason, "KubeletReady");
    assert.equal(ready?.message, "kubelet is posting ready status");
    assert.equal(conditionOf(node, "MemoryPressure")?.reason, "KubeletHasSufficientMemory");
    assert.equal(conditionOf(node, "DiskPressure")?.reason, "KubeletHasNoDiskPressure");
    assert.equal(conditionOf(node, "PIDPressure")?.reason, "KubeletHasSufficientPID");

    await waitFor(() => h.fake.podCIDR === "10.244.1.0/24", 10_000, "podCIDR passed to the runtime");

    const leases = h.client.resource(LEASES, "kube-node-lease");
    const lease = await leases.get(NODE);
    assert.equal(lease.spec.holderIdentity, NODE);
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    const first = lease.spec.renewTime;
    clock.advance(10_000);
    await waitFor(
      async () => (await leases.get(NODE)).spec.renewTime !== first,
      10_000,
      "lease renewed after 10 s",
    );

    // The node lifecycle controller marks the node Unknown: the next status check writes Ready again.
    await nodes.patch(
      NODE,
      "strategic",
      { status: { conditions: [{ type: "Ready", status: "Unknown", reason: "NodeStatusUnknown" }] } },
      { subresource: "status" },
    );
    await h.advanceUntil(
      async () => conditionOf(await nodes.get(NODE), "Ready")?.status === "True",
      10_000,
      "Ready reported again",
    );
  } finally {
    await h.close();
  }
  // A restarted kubelet finds its Node and brings it up to date.
  const again = await startHarness({ cluster, kubelet: { labels: { zone: "b" } } });
  try {
    const node = await again.client.resource(NODES).get(NODE);
    assert.equal(node.metadata?.labels?.zone, "b");
    assert.equal(node.status.daemonEndpoints.kubeletEndpoint.Port, again.kubelet.port);
  } finally {
    await again.close();
  }
});
