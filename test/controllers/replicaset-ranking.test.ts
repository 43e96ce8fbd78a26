import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { slowStartBatch, sortPodsForDeletion } from "../../src/controllers/replicaset/index.js";

function pod(
  name: string,
  opts: {
    node?: string;
    phase?: string;
    ready?: boolean;
    readySince?: string;
    restarts?: number;
    created?: string;
  },
): KubeObject {
  return {
    metadata: { name, creationTimestamp: opts.created ?? "2026-01-01T00:00:00Z" },
    spec: opts.node ? { nodeName: opts.node } : {},
    status: {
      phase: opts.phase ?? "Pending",
      conditions:
        opts.ready === undefined
          ? []
          : [{ type: "Ready", status: opts.ready ? "True" : "False", lastTransitionTime: opts.readySince }],
      containerStatuses: [{ restartCount: opts.restarts ?? 0 }],
    },
  };
}

const names = (pods: KubeObject[]) => pods.map((p) => p.metadata?.name);

describe("pod deletion ranking", () => {
  test("unscheduled, then pending, then not ready go first", () => {
    const pods = [
      pod("running-ready", { node: "n1", phase: "Running", ready: true }),
      pod("running-unready", { node: "n2", phase: "Running", ready: false }),
      pod("pending-scheduled", { node: "n3", phase: "Pending" }),
      pod("unscheduled", { phase: "Pending" }),
      pod("unknown", { node: "n4", phase: "Unknown" }),
    ];
    assert.deepEqual(names(sortPodsForDeletion(pods, pods)), [
      "unscheduled",
      "pending-scheduled",
      "unknown",
      "running-unready",
      "running-ready",
    ]);
  });

  test("among ready pods: doubled-up, ready for less time, more restarts, newer go first", () => {
    const base = { phase: "Running", ready: true };
    const pods = [
      pod("lone-old", { ...base, node: "a", readySince: "2026-01-01T00:00:00Z" }),
      pod("lone-recent", { ...base, node: "b", readySince: "2026-01-01T01:00:00Z" }),
      pod("crowded", { ...base, node: "c", readySince: "2026-01-01T00:00:00Z" }),
      pod("crowd-sibling", { ...base, node: "c", readySince: "2026-01-01T00:00:00Z", restarts: 1 }),
    ];
    assert.deepEqual(names(sortPodsForDeletion(pods, pods)), [
      "crowd-sibling",
      "crowded",
      "lone-recent",
      "lone-old",
    ]);
    const twins = [
      pod("older", {
        ...base,
        node: "x",
        readySince: "2026-01-01T00:00:00Z",
        created: "2026-01-01T00:00:00Z",
      }),
      pod("newer", {
        ...base,
        node: "y",
        readySince: "2026-01-01T00:00:00Z",
        created: "2026-01-02T00:00:00Z",
      }),
    ];
    assert.deepEqual(names(sortPodsForDeletion(twins, twins)), ["newer", "older"]);
  });
});

describe("slow start", () => {
  test("batches grow 1, 2, 4, ... and stop after a failing batch", async () => {
    let calls = 0;
    const ok = await slowStartBatch(10, 1, async () => {
      calls++;
    });
    assert.deepEqual(ok, { succeeded: 10 });
    assert.equal(calls, 10);

    let n = 0;
    const res = await slowStartBatch(20, 1, async () => {
      // Calls 1..3 (batches of 1 and 2) succeed; the 5th call, in the batch of 4, fails.
      if (++n === 5) throw new Error("quota exceeded");
    });
    assert.equal(n, 7, "the failing batch of 4 finishes, no further batch starts");
    assert.equal(res.succeeded, 6);
    assert.match(String((res.error as Error).message), /quota/);
  });
});
