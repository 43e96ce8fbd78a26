import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { computePodRequests, newCycleState, runFilters, Snapshot } from "../../src/scheduler/index.js";
import { node, pod } from "./fixtures.js";

/** node name -> "ok" or "<plugin>: reason, reason". */
function verdicts(p: KubeObject, nodes: KubeObject[], pods: KubeObject[] = []): Record<string, string> {
  const snap = new Snapshot({ nodes, pods });
  const cycle = newCycleState(p, snap);
  const out: Record<string, string> = {};
  for (const info of snap.nodeInfos) {
    const r = runFilters(cycle, info);
    out[info.name] = r ? `${r.plugin}: ${r.reasons.join(", ")}` : "ok";
  }
  return out;
}

describe("pod requests", () => {
  test("init containers count by their peak, sidecars add up, overhead adds", () => {
    const p = pod("p", {
      spec: {
        containers: [
          { name: "a", resources: { requests: { cpu: "100m", memory: "100Mi" } } },
          { name: "b", resources: { requests: { cpu: "200m" } } },
        ],
        initContainers: [
          { name: "i1", resources: { requests: { cpu: "1", memory: "50Mi" } } },
          { name: "i2", resources: { requests: { memory: "1Gi" } } },
        ],
        overhead: { cpu: "10m" },
      },
    });
    const r = computePodRequests(p);
    assert.equal(r.milliCPU, 1010);
    assert.equal(r.memory, 1024 * 1024 * 1024);
    const sidecar = pod("s", {
      spec: {
        containers: [{ name: "a", resources: { requests: { cpu: "100m" } } }],
        initContainers: [
          { name: "side", restartPolicy: "Always", resources: { requests: { cpu: "300m" } } },
          { name: "after", resources: { requests: { cpu: "500m" } } },
        ],
      },
    });
    // Sidecar runs with the app (400m) and with the later init container (800m peak).
    assert.equal(computePodRequests(sidecar).milliCPU, 800);
  });

  test("non-zero requests default to 100m and 200Mi per container", () => {
    const r = computePodRequests(pod("p"), true);
    assert.equal(r.milliCPU, 100);
    assert.equal(r.memory, 200 * 1024 * 1024);
    assert.equal(computePodRequests(pod("p")).milliCPU, 0);
  });
});

describe("NodeResourcesFit", () => {
  test("reports every insufficient resource of a node", () => {
    const nodes = [node("small", { cpu: "1", memory: "1Gi" }), node("big", { cpu: "8", memory: "16Gi" })];
    const existing = [pod("e", { nodeName: "small", cpu: "500m", memory: "512Mi" })];
    const v = verdicts(pod("p", { cpu: "600m", memory: "600Mi" }), nodes, existing);
    assert.equal(v.small, "NodeResourcesFit: Insufficient cpu, Insufficient memory");
    assert.equal(v.big, "ok");
  });

  test("an init container larger than the node does not fit", () => {
    const p = pod("p", {
      cpu: "100m",
      spec: { initContainers: [{ name: "i", resources: { requests: { cpu: "3" } } }] },
    });
    assert.equal(verdicts(p, [node("n", { cpu: "2" })]).n, "NodeResourcesFit: Insufficient cpu");
  });

  test("at most 110 pods per node unless allocatable.pods says otherwise", () => {
    const full = Array.from({ length: 110 }, (_, i) => pod(`e${i}`, { nodeName: "a" }));
    const almost = Array.from({ length: 109 }, (_, i) => pod(`f${i}`, { nodeName: "b" }));
    const v = verdicts(
      pod("p"),
      [node("a"), node("b"), node("c", { pods: "2" })],
      [...full, ...almost, pod("g1", { nodeName: "c" }), pod("g2", { nodeName: "c" })],
    );
    assert.deepEqual(v, {
      a: "NodeResourcesFit: Too many pods",
      b: "ok",
      c: "NodeResourcesFit: Too many pods",
    });
  });

  test("finished pods free their resources", () => {
    const done = pod("done", { nodeName: "n", cpu: "2" });
    done.status = { phase: "Succeeded" };
    assert.equal(verdicts(pod("p", { cpu: "2" }), [node("n", { cpu: "2" })], [done]).n, "ok");
  });
});

describe("TaintToleration and NodeUnschedulable", () => {
  const tainted = (effect: string, value?: string) => node("n", { taints: [{ key: "k", value, effect }] });

  test("NoSchedule and NoExecute reject untolerated pods, PreferNoSchedule does not", () => {
    assert.equal(
      verdicts(pod("p"), [tainted("NoSchedule", "v")]).n,
      "TaintToleration: node(s) had untolerated taint {k: v}",
    );
    assert.equal(
      verdicts(pod("p"), [tainted("NoExecute")]).n,
      "TaintToleration: node(s) had untolerated taint {k: }",
    );
    assert.equal(verdicts(pod("p"), [tainted("PreferNoSchedule")]).n, "ok");
  });

  test("Equal needs the same value, Exists any value, empty key with Exists everything; effects must match", () => {
    const cases: Array<[Record<string, unknown>, boolean]> = [
      [{ key: "k", operator: "Equal", value: "v", effect: "NoSchedule" }, true],
      [{ key: "k", value: "v" }, true],
      [{ key: "k", operator: "Equal", value: "w" }, false],
      [{ key: "k", operator: "Exists" }, true],
      [{ operator: "Exists" }, true],
      [{ key: "k", operator: "Exists", effect: "NoExecute" }, false],
      [{ key: "other", operator: "Exists" }, false],
    ];
    for (const [toleration, fits] of cases) {
      const v = verdicts(pod("p", { spec: { tolerations: [toleration] } }), [tainted("NoSchedule", "v")]);
      assert.equal(v.n === "ok", fits, JSON.stringify(toleration));
    }
  });

  test("spec.unschedulable rejects unless the unschedulable taint is tolerated", () => {
    const n = node("n", { unschedulable: true });
    assert.equal(verdicts(pod("p"), [n]).n, "NodeUnschedulable: node(s) were unschedulable");
    const tol = { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" };
    assert.equal(verdicts(pod("p", { spec: { tolerations: [tol] } }), [n]).n, "ok");
  });

  test("NodeName pins the pod", () => {
    const v = verdicts(pod("p", { spec: { nodeName: "b" } }), [node("a"), node("b")]);
    assert.deepEqual(v, { a: "NodeName: node(s) didn't match the requested node name", b: "ok" });
  });
});

describe("NodeAffinity", () => {
  const nodes = [
    node("a", { labels: { zone: "z1", gen: "3" } }),
    node("b", { labels: { zone: "z2", gen: "5", gpu: "yes" } }),
    node("c", { labels: {} }),
  ];
  const fits = (spec: Record<string, unknown>) =>
    Object.entries(verdicts(pod("p", { spec }), nodes))
      .filter(([, v]) => v === "ok")
      .map(([n]) => n);
  const required = (...exprs: unknown[]) => ({
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs }] },
      },
    },
  });

  test("nodeSelector", () => {
    assert.deepEqual(fits({ nodeSelector: { zone: "z2" } }), ["b"]);
    assert.equal(
      verdicts(pod("p", { spec: { nodeSelector: { zone: "zz" } } }), nodes).a,
      "NodeAffinity: node(s) didn't match Pod's node affinity/selector",
    );
  });

  test("operators In, NotIn, Exists, DoesNotExist, Gt, Lt", () => {
    assert.deepEqual(fits(required({ key: "zone", operator: "In", values: ["z1", "z9"] })), ["a"]);
    assert.deepEqual(fits(required({ key: "zone", operator: "NotIn", values: ["z1"] })), ["b", "c"]);
    assert.deepEqual(fits(required({ key: "gpu", operator: "Exists" })), ["b"]);
    assert.deepEqual(fits(required({ key: "gpu", operator: "DoesNotExist" })), ["a", "c"]);
    assert.deepEqual(fits(required({ key: "gen", operator: "Gt", values: ["4"] })), ["b"]);
    assert.deepEqual(fits(required({ key: "gen", operator: "Lt", values: ["4"] })), ["a"]);
    assert.deepEqual(fits(required({ key: "gen", operator: "Gt", values: ["x"] })), []);
    assert.deepEqual(
      fits(
        required(
          { key: "zone", operator: "In", values: ["z1", "z2"] },
          { key: "gen", operator: "Gt", values: ["4"] },
        ),
      ),
      ["b"],
    );
  });

  test("terms are ORed, an empty term matches nothing, matchFields selects by name", () => {
    const terms = (...t: unknown[]) => ({
      affinity: {
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: t } },
      },
    });
    assert.deepEqual(
      fits(
        terms(
          { matchExpressions: [{ key: "zone", operator: "In", values: ["z1"] }] },
          { matchFields: [{ key: "metadata.name", operator: "In", values: ["c"] }] },
        ),
      ),
      ["a", "c"],
    );
    assert.deepEqual(fits(terms({})), []);
    assert.deepEqual(
      fits(terms({ matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["a"] }] })),
      ["b", "c"],
    );
    assert.deepEqual(
      fits({
        nodeSelector: { zone: "z1" },
        ...terms({ matchFields: [{ key: "metadata.name", operator: "In", values: ["b"] }] }),
      }),
      [],
    );
  });
});

describe("NodePorts", () => {
  const withPort = (name: string, hostPort: number, extra: Record<string, unknown> = {}, nodeName?: string) =>
    pod(name, {
      nodeName,
      spec: { containers: [{ name: "c", ports: [{ containerPort: 80, hostPort, ...extra }] }] },
    });

  test("0.0.0.0 conflicts with any IP and specific IPs conflict only with themselves", () => {
    const cases: Array<[Record<string, unknown>, Record<string, unknown>, boolean]> = [
      [{}, {}, false],
      [{ hostIP: "10.0.0.1" }, {}, false],
      [{}, { hostIP: "10.0.0.1" }, false],
      [{ hostIP: "10.0.0.1" }, { hostIP: "10.0.0.2" }, true],
      [{ hostIP: "10.0.0.1" }, { hostIP: "10.0.0.1" }, false],
      [{}, { protocol: "UDP" }, true],
      [{ protocol: "UDP", hostIP: "0.0.0.0" }, { protocol: "UDP" }, false],
    ];
    for (const [existing, incoming, fits] of cases) {
      const v = verdicts(withPort("p", 8080, incoming), [node("n")], [withPort("e", 8080, existing, "n")]);
      assert.equal(
        v.n,
        fits ? "ok" : "NodePorts: node(s) didn't have free ports for the requested pod ports",
        JSON.stringify([existing, incoming]),
      );
    }
    assert.equal(verdicts(withPort("p", 9090), [node("n")], [withPort("e", 8080, {}, "n")]).n, "ok");
  });
});

describe("InterPodAffinity", () => {
  const nodes = [
    node("a", { labels: { zone: "z1" } }),
    node("b", { labels: { zone: "z1" } }),
    node("c", { labels: { zone: "z2" } }),
  ];
  const anti = (key = "kubernetes.io/hostname") => ({
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { app: "web" } }, topologyKey: key },
        ],
      },
    },
  });

  test("required anti-affinity on hostname keeps replicas apart", () => {
    const existing = [
      pod("w1", { nodeName: "a", labels: { app: "web" } }),
      pod("x", { nodeName: "b", labels: { app: "db" } }),
    ];
    const v = verdicts(pod("w2", { labels: { app: "web" }, spec: anti() }), nodes, existing);
    assert.deepEqual(v, {
      a: "InterPodAffinity: node(s) didn't match pod anti-affinity rules",
      b: "ok",
      c: "ok",
    });
  });

  test("anti-affinity on zone blocks the whole zone; other namespaces do not count", () => {
    const existing = [
      pod("w1", { nodeName: "a", labels: { app: "web" } }),
      pod("o", { namespace: "other", nodeName: "c", labels: { app: "web" } }),
    ];
    const v = verdicts(pod("w2", { labels: { app: "web" }, spec: anti("zone") }), nodes, existing);
    assert.deepEqual(Object.values(v), [
      "InterPodAffinity: node(s) didn't match pod anti-affinity rules",
      "InterPodAffinity: node(s) didn't match pod anti-affinity rules",
      "ok",
    ]);
  });

  test("an existing pod's anti-affinity repels a matching incoming pod", () => {
    const existing = [pod("w1", { nodeName: "a", labels: { app: "other" }, spec: anti() })];
    const v = verdicts(pod("w2", { labels: { app: "web" } }), nodes, existing);
    assert.deepEqual(v, {
      a: "InterPodAffinity: node(s) didn't satisfy existing pods anti-affinity rules",
      b: "ok",
      c: "ok",
    });
  });

  test("required affinity follows matching pods, and the first pod of a self-affine group may land anywhere", () => {
    const aff = {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: "cache" } }, topologyKey: "zone" },
          ],
        },
      },
    };
    const v = verdicts(pod("c2", { labels: { app: "cache" }, spec: aff }), nodes, [
      pod("c1", { nodeName: "c", labels: { app: "cache" } }),
    ]);
    assert.deepEqual(v, {
      a: "InterPodAffinity: node(s) didn't match pod affinity rules",
      b: "InterPodAffinity: node(s) didn't match pod affinity rules",
      c: "ok",
    });
    assert.deepEqual(Object.values(verdicts(pod("c1", { labels: { app: "cache" }, spec: aff }), nodes)), [
      "ok",
      "ok",
      "ok",
    ]);
    assert.equal(
      verdicts(pod("x", { labels: { app: "other" }, spec: aff }), nodes).a,
      "InterPodAffinity: node(s) didn't match pod affinity rules",
    );
  });
});
