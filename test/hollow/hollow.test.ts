import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import type { RestClient } from "../../src/client/index.js";
import {
  type HollowNodes,
  parseLabels,
  parseTaints,
  podIP,
  startHollowNodes,
} from "../../src/hollow/index.js";
import { startCluster, type TestCluster } from "../client/cluster.js";
import { waitFor } from "../support/require.js";

const PODS = { group: "", version: "v1", resource: "pods" };
const NODES = { group: "", version: "v1", resource: "nodes" };
const LEASES = { group: "coordination.k8s.io", version: "v1", resource: "leases" };

function pod(name: string, node: string, restartPolicy = "Always"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { nodeName: node, restartPolicy, containers: [{ name: "c", image: "busybox" }] },
  };
}

describe("flag syntax", () => {
  test("labels and taints parse as kubectl writes them; bad input is a clear error", () => {
    assert.deepEqual(parseLabels("a=1, b=x"), { a: "1", b: "x" });
    assert.deepEqual(parseTaints("k=v:NoSchedule,gpu:NoExecute"), [
      { key: "k", value: "v", effect: "NoSchedule" },
      { key: "gpu", effect: "NoExecute" },
    ]);
    assert.throws(() => parseLabels("novalue"), /want key=value/);
    assert.throws(() => parseTaints("k=v:Sometimes"), /Effect one of/);
  });

  test("pod IPs come from the podCIDR, skipping network and broadcast", () => {
    assert.equal(podIP("10.244.3.0/24", 0, 0), "10.244.3.1");
    assert.equal(podIP("10.244.3.0/24", 0, 254), "10.244.3.1");
    assert.equal(podIP(undefined, 300, 0), "10.65.44.1");
  });
});

describe("hollow nodes", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let hollow: HollowNodes;
  const progress: number[] = [];

  before(async () => {
    cluster = await startCluster();
    client = cluster.client();
    hollow = await startHollowNodes({
      client,
      nodes: 5,
      namePrefix: "hn-",
      shape: {
        cpu: "8",
        memory: "16Gi",
        labels: { zone: "a" },
        taints: parseTaints("dedicated=x:PreferNoSchedule"),
      },
      leaseIntervalMs: 100,
      statusIntervalMs: 100,
      podCompletionMs: 300,
      onProgress: (n) => progress.push(n),
    });
  });
  after(async () => {
    await hollow?.stop();
    await cluster?.close();
  });

  test("register Nodes that are Ready, with capacity, labels, taints and nodeInfo", async () => {
    assert.deepEqual(hollow.names, ["hn-0", "hn-1", "hn-2", "hn-3", "hn-4"]);
    assert.equal(progress.at(-1), 5);
    const nodes = (await client.resource(NODES).list()).items;
    assert.equal(nodes.length, 5);
    const n = nodes.find((x) => x.metadata?.name === "hn-2") as KubeObject;
    assert.equal(n.status.allocatable.cpu, "8");
    assert.equal(n.status.capacity.pods, "110");
    assert.equal(n.metadata?.labels?.["kubernetes.io/hostname"], "hn-2");
    assert.equal(n.metadata?.labels?.type, "hollow");
    assert.equal(n.metadata?.labels?.zone, "a");
    assert.deepEqual(n.spec.taints, [{ key: "dedicated", value: "x", effect: "PreferNoSchedule" }]);
    assert.equal(n.status.nodeInfo.kubeletVersion, "v1.32.0-kite");
    assert.match(n.status.nodeInfo.containerRuntimeVersion, /^hollow:\/\//);
    assert.equal(n.status.conditions.find((c: KubeObject) => c.type === "Ready").status, "True");
    assert.equal(n.status.daemonEndpoints.kubeletEndpoint.Port, 10250);
  });

  test("leases renew, and stop renewing when heartbeats stop", async () => {
    const leases = client.resource(LEASES, "kube-node-lease");
    const renewTime = async (name: string) => (await leases.get(name)).spec.renewTime as string;
    const first = await renewTime("hn-1");
    await waitFor(async () => (await renewTime("hn-1")) !== first, 5_000, "a lease renewal");
    hollow.stopHeartbeats("hn-1");
    const hn0Renewed = async () => {
      const before = await renewTime("hn-0");
      await waitFor(async () => (await renewTime("hn-0")) !== before, 5_000, "hn-0 renewing");
    };
    // A renewal already in flight may still land; after one hn-0 round hn-1 must stay put.
    await hn0Renewed();
    const settled = await renewTime("hn-1");
    await hn0Renewed();
    await hn0Renewed();
    const later = await renewTime("hn-1");
    assert.equal(later, settled, "hn-1 kept renewing after its heartbeats stopped");
    hollow.resumeHeartbeats("hn-1");
    await waitFor(async () => (await renewTime("hn-1")) !== later, 5_000, "renewals resuming");
  });

  test("a node marked not Ready by someone else reports Ready again at once", async () => {
    const nodes = client.resource(NODES);
    await nodes.patch(
      "hn-3",
      "strategic",
      { status: { conditions: [{ type: "Ready", status: "Unknown", reason: "NodeStatusUnknown" }] } },
      { subresource: "status" },
    );
    await waitFor(
      async () =>
        (await nodes.get("hn-3")).status.conditions.find((c: KubeObject) => c.type === "Ready").status ===
        "True",
      5_000,
      "Ready=True again",
    );
  });

  test("pods bound to hollow nodes run; pods that are not restartPolicy Always succeed", async () => {
    const pods = client.resource(PODS, "default");
    await pods.create(pod("web", "hn-0"));
    await pods.create(pod("job", "hn-4", "Never"));
    await pods.create(pod("elsewhere", "not-hollow"));
    await waitFor(async () => (await pods.get("web")).status?.phase === "Running", 5_000, "web Running");
    const web = await pods.get("web");
    assert.match(web.status.podIP, /^10\.64\.0\.\d+$/);
    assert.equal(web.status.containerStatuses[0].ready, true);
    assert.ok(web.status.containerStatuses[0].state.running.startedAt);
    assert.equal(web.status.conditions.find((c: KubeObject) => c.type === "Ready").status, "True");
    await waitFor(async () => (await pods.get("job")).status?.phase === "Succeeded", 5_000, "job Succeeded");
    const job = await pods.get("job");
    assert.equal(job.status.containerStatuses[0].state.terminated.exitCode, 0);
    assert.equal(job.status.containerStatuses[0].state.terminated.reason, "Completed");
    assert.deepEqual(
      hollow.podsOn("hn-0").map((p) => p.metadata?.name),
      ["web"],
    );
    assert.equal((await pods.get("elsewhere")).status?.phase, "Pending");
    // The Always pod keeps running past the completion time.
    assert.equal((await pods.get("web")).status.phase, "Running");
  });

  test("a graceful deletion is finished by the node", async () => {
    const pods = client.resource(PODS, "default");
    await pods.create(pod("doomed", "hn-2"));
    await waitFor(
      async () => (await pods.get("doomed")).status?.phase === "Running",
      5_000,
      "doomed Running",
    );
    const answer = await pods.delete("doomed", { gracePeriodSeconds: 30 });
    assert.ok((answer as KubeObject).metadata?.deletionTimestamp, "the delete was graceful");
    await waitFor(
      async () => (await pods.list()).items.every((p) => p.metadata?.name !== "doomed"),
      5_000,
      "doomed gone",
    );
  });
});
