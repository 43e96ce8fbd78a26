import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { FitError, numFeasibleNodesToFind, Rng, Snapshot, schedulePod } from "../../src/scheduler/index.js";
import { node, pod } from "./fixtures.js";

function fitMessage(p: KubeObject, nodes: KubeObject[], pods: KubeObject[] = []): string {
  const r = schedulePod(p, { nodes, pods });
  assert.ok("error" in r, `expected no fit, got ${JSON.stringify(r)}`);
  assert.ok(r.error instanceof FitError);
  return r.error.message;
}

describe("FitError", () => {
  const notReady = { key: "node.kubernetes.io/not-ready", effect: "NoSchedule" };

  test("counts reasons per node and sorts the histogram like upstream", () => {
    const nodes = [node("a", { cpu: "1" }), node("b", { cpu: "1" }), node("c", { taints: [notReady] })];
    assert.equal(
      fitMessage(pod("p", { cpu: "2" }), nodes),
      "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 Insufficient cpu.",
    );
  });

  test("one node can contribute several reasons; the first rejecting plugin wins", () => {
    const nodes = [
      node("a", { cpu: "1", memory: "1Gi" }),
      node("b", {
        cpu: "1",
        memory: "1Gi",
        taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }],
      }),
      node("c", { cpu: "8", memory: "1Gi", unschedulable: true }),
      node("d", { cpu: "1", memory: "8Gi", labels: { zone: "x" } }),
    ];
    const msg = fitMessage(pod("p", { cpu: "2", memory: "2Gi" }), nodes);
    // Sorted as whole "<count> <reason>" strings, byte-wise: "1 I..." < "1 n..." < "2 I...".
    const want =
      "0/4 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) were unschedulable, 2 Insufficient cpu.";
    assert.equal(msg, want);
  });

  test("withPreemption appends upstream's DefaultPreemption verdict", () => {
    const nodes = [node("a", { cpu: "1" }), node("b", { cpu: "1" }), node("c", { taints: [notReady] })];
    const r = schedulePod(pod("p", { cpu: "2" }), { nodes, pods: [] });
    assert.ok("error" in r);
    assert.equal(
      r.error.withPreemption(),
      "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 Insufficient cpu. " +
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
    );
  });

  test("no nodes at all", () => {
    assert.equal(fitMessage(pod("p"), []), "no nodes available to schedule pods");
  });

  test("exposes the rejecting plugins for the queue", () => {
    const r = schedulePod(pod("p", { cpu: "2", spec: { nodeSelector: { a: "b" } } }), {
      nodes: [node("a", { cpu: "1" }), node("b", { labels: { a: "b" }, cpu: "1" })],
      pods: [],
    });
    assert.ok("error" in r);
    assert.deepEqual([...r.error.unschedulablePlugins].sort(), ["NodeAffinity", "NodeResourcesFit"]);
  });
});

describe("schedulePod", () => {
  test("a single feasible node is picked without scoring", () => {
    const r = schedulePod(pod("p", { cpu: "3" }), {
      nodes: [node("a", { cpu: "2" }), node("b", { cpu: "4" })],
      pods: [],
    });
    assert.deepEqual(r, { node: "b", evaluatedNodes: 2, feasibleNodes: 1 });
  });

  test("ties are broken by the seeded RNG: same seed, same choices; different seeds differ", () => {
    const nodes = Array.from({ length: 20 }, (_, i) => node(`n${i}`));
    const run = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 30 }, (_, i) => {
        const r = schedulePod(pod(`p${i}`), { nodes, pods: [] }, { rng });
        assert.ok("node" in r);
        return r.node;
      });
    };
    assert.deepEqual(run(42), run(42));
    assert.notDeepEqual(run(42), run(43));
    assert.ok(new Set(run(42)).size > 5, "tie-breaking should spread over equal nodes");
  });

  test("with many nodes only enough feasible nodes are searched, rotating the start", () => {
    assert.equal(numFeasibleNodesToFind(50), 50);
    assert.equal(numFeasibleNodesToFind(1000), 420);
    assert.equal(numFeasibleNodesToFind(5000), 500);
    assert.equal(numFeasibleNodesToFind(150, 10), 100);
    const nodes = Array.from({ length: 1000 }, (_, i) => node(`n${i}`));
    const snap = new Snapshot({ nodes, pods: [] });
    const cursor = { nextStartNodeIndex: 0 };
    const r1 = schedulePod(pod("a"), snap, { cursor });
    assert.ok("node" in r1);
    assert.equal(r1.evaluatedNodes, 420);
    assert.equal(cursor.nextStartNodeIndex, 420);
    schedulePod(pod("b"), snap, { cursor });
    assert.equal(cursor.nextStartNodeIndex, 840);
  });

  test("assume makes later decisions see earlier ones", () => {
    const snap = new Snapshot({ nodes: [node("a", { cpu: "1" }), node("b", { cpu: "1" })], pods: [] });
    const placed: string[] = [];
    for (const name of ["p1", "p2"]) {
      const p = pod(name, { cpu: "700m" });
      const r = schedulePod(p, snap);
      assert.ok("node" in r);
      snap.assume(p, r.node);
      placed.push(r.node);
    }
    assert.deepEqual(placed.sort(), ["a", "b"]);
    const r = schedulePod(pod("p3", { cpu: "700m" }), snap);
    assert.ok("error" in r);
    assert.equal(r.error.message, "0/2 nodes are available: 2 Insufficient cpu.");
  });

  test("pods bound to unknown nodes and malformed quantities do not break scheduling", () => {
    const odd = pod("odd", { nodeName: "gone", cpu: "1" });
    const bad = pod("bad", {
      spec: { containers: [{ name: "c", resources: { requests: { cpu: "lots" } } }] },
    });
    const r = schedulePod(bad, { nodes: [node("a")], pods: [odd] });
    assert.deepEqual(r, { node: "a", evaluatedNodes: 1, feasibleNodes: 1 });
  });
});

describe("Snapshot upkeep", () => {
  test("removing and replacing pods frees and re-takes resources, ports and spreading counts", () => {
    const snap = new Snapshot({ nodes: [node("a", { cpu: "1" })], pods: [] });
    const web = pod("w", {
      owner: "web",
      cpu: "800m",
      spec: {
        containers: [
          {
            name: "c",
            ports: [{ containerPort: 80, hostPort: 80 }],
            resources: { requests: { cpu: "800m" } },
          },
        ],
      },
    });
    snap.assume(web, "a");
    snap.assume(web, "a"); // an informer echo of the same pod must not count twice
    const info = snap.get("a");
    assert.ok(info);
    assert.equal(info.pods.length, 1);
    assert.equal(info.requested.milliCPU, 800);
    assert.ok(info.portConflicts({ ip: "0.0.0.0", protocol: "TCP", port: 80 }));
    assert.equal(snap.nodesByController.get("rs-web")?.size, 1);
    assert.ok("error" in schedulePod(pod("p", { cpu: "500m" }), snap));
    snap.removePod(pod("w"));
    assert.equal(info.pods.length, 0);
    assert.equal(info.requested.milliCPU, 0);
    assert.equal(info.usedPorts.size, 0);
    assert.equal(snap.nodesByController.size, 0);
    assert.deepEqual(schedulePod(pod("p", { cpu: "500m" }), snap), {
      node: "a",
      evaluatedNodes: 1,
      feasibleNodes: 1,
    });
    // A pod that finished stops counting.
    const done = pod("w2", { cpu: "800m" });
    snap.assume(done, "a");
    snap.assume({ ...done, status: { phase: "Succeeded" } }, "a");
    assert.equal(snap.get("a")?.requested.milliCPU, 0);
  });

  test("node updates keep the node's pods; pods of unknown nodes appear with their node", () => {
    const snap = new Snapshot({
      nodes: [node("a", { cpu: "1" })],
      pods: [pod("x", { nodeName: "a", cpu: "1" }), pod("y", { nodeName: "later", cpu: "2" })],
    });
    snap.setNode(node("a", { cpu: "4", labels: { disk: "ssd" } }));
    assert.equal(snap.get("a")?.requested.milliCPU, 1000);
    assert.equal(snap.get("a")?.allocatable.milliCPU, 4000);
    assert.equal(snap.get("a")?.labels.disk, "ssd");
    snap.setNode(node("later", { cpu: "2" }));
    assert.equal(snap.get("later")?.requested.milliCPU, 2000);
    assert.deepEqual(
      snap.nodeInfos.map((n) => n.name),
      ["a", "later"],
    );
    snap.removeNode("a");
    assert.deepEqual(
      snap.nodeInfos.map((n) => n.name),
      ["later"],
    );
    snap.setNode(node("a"));
    assert.equal(snap.get("a")?.pods.length, 1, "the pod comes back with its node");
  });
});
