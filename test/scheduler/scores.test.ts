import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import {
  defaultNormalize,
  type NodeScore,
  newCycleState,
  Rng,
  Snapshot,
  schedulePod,
  scoreNodes,
} from "../../src/scheduler/index.js";
import { node, pod } from "./fixtures.js";

function scores(p: KubeObject, nodes: KubeObject[], pods: KubeObject[] = []): NodeScore[] {
  const snap = new Snapshot({ nodes, pods });
  return scoreNodes(newCycleState(p, snap), snap.nodeInfos, snap);
}

function plugin(s: NodeScore[], name: string): number[] {
  return s.map((x) => x.byPlugin[name] as number);
}

describe("resource scores", () => {
  // Upstream's "differently sized nodes" case: 3000m/5000 on 4000m/10000 and 6000m/10000.
  const nodes = [node("n1", { cpu: "4", memory: "10000" }), node("n2", { cpu: "6", memory: "10000" })];
  const p = pod("p", { cpu: "3", memory: "5000" });

  test("LeastAllocated averages the free fraction of cpu and memory", () => {
    assert.deepEqual(plugin(scores(p, nodes), "NodeResourcesFit"), [37, 50]);
  });

  test("BalancedAllocation rewards equal cpu and memory fractions", () => {
    assert.deepEqual(plugin(scores(p, nodes), "NodeResourcesBalancedAllocation"), [87, 100]);
    assert.deepEqual(plugin(scores(pod("be"), nodes), "NodeResourcesBalancedAllocation"), [0, 0]);
  });

  test("pods without requests still count 100m/200Mi for LeastAllocated", () => {
    const n = [node("a", { cpu: "1", memory: "1000Mi" }), node("b", { cpu: "1", memory: "1000Mi" })];
    const s = scores(pod("p"), n, [pod("e", { nodeName: "a" })]);
    // a: cpu (1000-200)/1000 -> 80, mem (1000-400)/1000 -> 60 => 70; b: 90, 80 => 85.
    assert.deepEqual(plugin(s, "NodeResourcesFit"), [70, 85]);
  });

  test("the emptier node wins", () => {
    const n = [node("busy"), node("idle")];
    const r = schedulePod(pod("p", { cpu: "500m", memory: "512Mi" }), {
      nodes: n,
      pods: [pod("e", { nodeName: "busy", cpu: "2", memory: "4Gi" })],
    });
    assert.ok("node" in r);
    assert.equal(r.node, "idle");
  });
});

describe("other scores", () => {
  test("preferred node affinity sums weights and normalises to 100", () => {
    const n = [
      node("a", { labels: { disk: "ssd", zone: "z1" } }),
      node("b", { labels: { disk: "ssd" } }),
      node("c"),
    ];
    const pref = (weight: number, key: string, value: string) => ({
      weight,
      preference: { matchExpressions: [{ key, operator: "In", values: [value] }] },
    });
    const p = pod("p", {
      spec: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              pref(20, "disk", "ssd"),
              pref(60, "zone", "z1"),
            ],
          },
        },
      },
    });
    assert.deepEqual(plugin(scores(p, n), "NodeAffinity"), [100, 25, 0]);
  });

  test("untolerated PreferNoSchedule taints lower the score", () => {
    const t = (key: string) => ({ key, effect: "PreferNoSchedule" });
    const n = [
      node("a"),
      node("b", { taints: [t("x")] }),
      node("c", { taints: [t("x"), t("y"), { key: "z", effect: "NoSchedule" }] }),
    ];
    assert.deepEqual(plugin(scores(pod("p"), n), "TaintToleration"), [100, 50, 0]);
    const tolerant = pod("p", {
      spec: { tolerations: [{ key: "x", operator: "Exists", effect: "PreferNoSchedule" }] },
    });
    assert.deepEqual(plugin(scores(tolerant, n), "TaintToleration"), [100, 100, 0]);
  });

  test("DefaultNormalizeScore", () => {
    const a = [0, 0];
    defaultNormalize(a, true);
    assert.deepEqual(a, [100, 100]);
    const b = [1, 3, 0];
    defaultNormalize(b, false);
    assert.deepEqual(b, [33, 100, 0]);
  });

  test("replicas of one ReplicaSet spread across nodes", () => {
    const nodes = ["a", "b", "c", "d"].map((n) => node(n));
    const snap = new Snapshot({ nodes, pods: [] });
    const rng = new Rng(7);
    const placed: Record<string, number> = {};
    for (let i = 0; i < 8; i++) {
      const p = pod(`web-${i}`, { owner: "web", cpu: "100m", memory: "100Mi" });
      const r = schedulePod(p, snap, { rng });
      assert.ok("node" in r);
      snap.assume(p, r.node);
      placed[r.node] = (placed[r.node] ?? 0) + 1;
    }
    assert.deepEqual(placed, { a: 2, b: 2, c: 2, d: 2 });
    // Upstream's formula: raw = round(count * ln(nodes + 2) + maxSkew - 1) -> a: round(2 ln 4 + 2) = 5, b: 2;
    // normalised 100 * (max + min - raw) / max -> a: 40, b: 100.
    const extra = [pod("x1", { owner: "web", nodeName: "a" }), pod("x2", { owner: "web", nodeName: "a" })];
    const s = plugin(scores(pod("n", { owner: "web" }), nodes.slice(0, 2), extra), "PodTopologySpread");
    assert.deepEqual(s, [40, 100]);
  });
});
