import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../src/api/types.js";
import { containerOomScoreAdj, podQOSClass } from "../../src/kubelet/qos.js";

type Res = { requests?: Record<string, string>; limits?: Record<string, string> };

function pod(
  containers: Res[],
  extra: Record<string, unknown> = {},
  init: Array<Res & { restartPolicy?: string }> = [],
): KubeObject {
  return {
    metadata: { name: "p", namespace: "default", uid: "u1" },
    spec: {
      containers: containers.map((resources, i) => ({ name: `c${i}`, resources })),
      initContainers: init.map(({ restartPolicy, ...resources }, i) => ({
        name: `i${i}`,
        restartPolicy,
        resources,
      })),
      ...extra,
    },
  };
}

const GI = 1024 ** 3;

test("QoS class: BestEffort, Guaranteed, Burstable as upstream ComputePodQOS", () => {
  assert.equal(podQOSClass(pod([{}])), "BestEffort");
  assert.equal(podQOSClass(pod([{ requests: { cpu: "0" } }])), "BestEffort", "zero requests do not count");
  assert.equal(
    podQOSClass(pod([{ limits: { cpu: "1", memory: "1Gi" } }])),
    "Guaranteed",
    "requests default from limits",
  );
  assert.equal(
    podQOSClass(pod([{ requests: { cpu: "1000m", memory: "1Gi" }, limits: { cpu: "1", memory: "1024Mi" } }])),
    "Guaranteed",
    "equal quantities in different notations",
  );
  assert.equal(
    podQOSClass(pod([{ requests: { cpu: "500m" }, limits: { cpu: "1", memory: "1Gi" } }])),
    "Burstable",
  );
  assert.equal(podQOSClass(pod([{ limits: { cpu: "1" } }])), "Burstable", "memory limit missing");
  assert.equal(
    podQOSClass(pod([{ limits: { cpu: "1", memory: "1Gi" } }, {}])),
    "Burstable",
    "one container without limits",
  );
  assert.equal(
    podQOSClass(pod([{ limits: { cpu: "1", memory: "1Gi" } }], {}, [{ requests: { memory: "1Gi" } }])),
    "Burstable",
    "init containers count",
  );
  assert.equal(
    podQOSClass(pod([{ requests: { "nvidia.com/gpu": "1" } }])),
    "BestEffort",
    "only cpu and memory matter",
  );
  const recorded = pod([{}]);
  recorded.status = { qosClass: "Guaranteed" };
  assert.equal(podQOSClass(recorded), "Guaranteed", "status.qosClass wins once set");
});

test("oom_score_adj as pkg/kubelet/qos/policy.go", () => {
  const best = pod([{}]);
  assert.equal(containerOomScoreAdj(best, best.spec.containers[0], 8 * GI), 1000);
  const guaranteed = pod([{ limits: { cpu: "1", memory: "1Gi" } }]);
  assert.equal(containerOomScoreAdj(guaranteed, guaranteed.spec.containers[0], 8 * GI), -997);
  // 1000 - 1000*1Gi/8Gi = 875
  const burst = pod([{ requests: { memory: "1Gi" } }]);
  assert.equal(containerOomScoreAdj(burst, burst.spec.containers[0], 8 * GI), 875);
  // Request equal to capacity: clamped to 1000 + (-997) = 3.
  const huge = pod([{ requests: { memory: "8Gi" } }]);
  assert.equal(containerOomScoreAdj(huge, huge.spec.containers[0], 8 * GI), 3);
  // A tiny request rounds to 1000: burstable stays below best-effort.
  const tiny = pod([{ requests: { memory: "1Ki", cpu: "100m" } }]);
  assert.equal(containerOomScoreAdj(tiny, tiny.spec.containers[0], 8 * GI), 999);
  const cpuOnly = pod([{ requests: { cpu: "100m" } }]);
  assert.equal(containerOomScoreAdj(cpuOnly, cpuOnly.spec.containers[0], 8 * GI), 999);
});

test("node-critical pods get -997; sidecars never score above the smallest regular container", () => {
  const critical = pod([{}], { priority: 2_000_001_000, priorityClassName: "system-node-critical" });
  assert.equal(containerOomScoreAdj(critical, critical.spec.containers[0], 8 * GI), -997);
  const clusterCritical = pod([{}], {
    priority: 2_000_000_000,
    priorityClassName: "system-cluster-critical",
  });
  assert.equal(containerOomScoreAdj(clusterCritical, clusterCritical.spec.containers[0], 8 * GI), 1000);
  const sidecar = pod([{ requests: { memory: "2Gi" } }, { requests: { memory: "4Gi" } }], {}, [
    { restartPolicy: "Always", requests: { memory: "1Gi" } },
  ]);
  // Its own 875 is capped at the 2Gi container's 750.
  assert.equal(containerOomScoreAdj(sidecar, sidecar.spec.initContainers[0], 8 * GI), 750);
  assert.equal(containerOomScoreAdj(sidecar, sidecar.spec.containers[1], 8 * GI), 500);
});
