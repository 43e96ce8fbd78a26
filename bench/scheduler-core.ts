// Throughput of the I/O-free scheduling core:
// schedules PODS pods of a few ReplicaSets onto NODES nodes through one Snapshot, assuming
// each decision, the way the scheduler's cache does.
//
//   npm run bench -- scheduler-core [NODES=100] [PODS=5000]
//
// The last line printed is one JSON object with the figures.
import { Rng, Snapshot, schedulePod } from "../src/scheduler/index.js";
import { node, pod } from "../test/scheduler/fixtures.js";

const numNodes = Number(process.argv[2] ?? 100);
const numPods = Number(process.argv[3] ?? 5000);
if (!(numNodes > 0 && numPods > 0)) throw new Error("usage: core-bench.js [NODES] [PODS]");

const nodes = Array.from({ length: numNodes }, (_, i) =>
  node(`node-${i}`, {
    cpu: "32",
    memory: "128Gi",
    labels: { "topology.kubernetes.io/zone": `zone-${i % 3}` },
  }),
);
const pods = Array.from({ length: numPods }, (_, i) =>
  pod(`web-${i}`, { owner: `rs-${i % 10}`, cpu: "100m", memory: "128Mi", labels: { app: `rs-${i % 10}` } }),
);
const snapshot = new Snapshot({ nodes, pods: [] });
const rng = new Rng(1);
const cursor = { nextStartNodeIndex: 0 };
const perNode = new Map<string, number>();
let unschedulable = 0;
const start = process.hrtime.bigint();
for (const p of pods) {
  const r = schedulePod(p, snapshot, { rng, cursor });
  if ("error" in r) {
    unschedulable++;
    continue;
  }
  snapshot.assume(p, r.node);
  perNode.set(r.node, (perNode.get(r.node) ?? 0) + 1);
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const counts = [...perNode.values()];
console.log(
  JSON.stringify({
    bench: "scheduler-core",
    nodes: numNodes,
    pods: numPods,
    seconds: Number(seconds.toFixed(3)),
    pods_per_sec: Math.round(numPods / seconds),
    unschedulable,
    min_pods_per_node: Math.min(...counts),
    max_pods_per_node: Math.max(...counts),
  }),
);
