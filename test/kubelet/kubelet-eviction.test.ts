// Memory pressure end to end with a FakeRuntime: available memory under the threshold makes the
// node's MemoryPressure True and evicts the pod using the most memory: phase Failed, reason
// Evicted, containers killed, an Evicted event.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../src/client/index.js";
import { waitFor } from "../support/require.js";
import { conditionOf, containerStatus, NODE, NODES, startHarness } from "./kubelet-harness.js";

test("memory pressure evicts the hungriest pod: Failed, Evicted, containers killed, MemoryPressure True", async () => {
  const clock = new FakeClock(Date.parse("2026-03-01T00:00:00Z"));
  let available = 4 * 1024 ** 3;
  const h = await startHarness({ clock, kubelet: { memoryAvailableBytes: async () => available } });
  try {
    h.fake.memoryOf = (c) => (c.name === "hog" ? 500 * 1024 ** 2 : 10 * 1024 ** 2);
    await h.createPod(
      { containers: [{ name: "hog", image: "x", command: ["sleep", "1"] }] },
      { name: "hog" },
    );
    await h.createPod(
      { containers: [{ name: "small", image: "x", command: ["sleep", "1"] }] },
      { name: "small" },
    );
    await h.waitPod("hog", (p) => p.status?.phase === "Running", "hog Running");
    await h.waitPod("small", (p) => p.status?.phase === "Running", "small Running");
    available = 50 * 1024 ** 2;
    // One eviction pass (every 10 s) evicts one pod: the one using the most memory.
    clock.advance(10_000);
    await h.waitPod("hog", (p) => p.status?.phase === "Failed", "hog evicted");
    const hog = (await h.getPod("hog"))!;
    assert.equal(hog.status.reason, "Evicted");
    assert.match(hog.status.message, /^The node was low on resource: memory\./);
    assert.ok(containerStatus(hog, "hog")?.state?.terminated, "container killed");
    assert.equal(h.fake.running("hog").length, 0);
    assert.equal((await h.getPod("small"))?.status?.phase, "Running");
    await waitFor(
      async () => conditionOf(await h.client.resource(NODES).get(NODE), "MemoryPressure")?.status === "True",
      10_000,
      "MemoryPressure True",
    );
    const node = await h.client.resource(NODES).get(NODE);
    assert.equal(conditionOf(node, "MemoryPressure")?.reason, "KubeletHasInsufficientMemory");
    await waitFor(
      async () => (await h.events()).some((e) => e.reason === "Evicted" && e.involvedObject?.name === "hog"),
      10_000,
      "Evicted event",
    );
  } finally {
    await h.close();
  }
});
