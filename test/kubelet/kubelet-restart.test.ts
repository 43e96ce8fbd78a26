// A kubelet restarted over a runtime that kept its pods (FakeRuntime shared by both): the new
// kubelet adopts the sandbox and containers, so finished init containers do not run again, the
// running container is not restarted, and restart counts go on.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../src/client/index.js";
import { startCluster } from "../client/cluster.js";
import { waitFor } from "../support/require.js";
import { FakeRuntime } from "./fake-runtime.js";
import { containerStatus, startHarness } from "./kubelet-harness.js";

test("a restarted kubelet adopts the runtime's sandbox and containers", async () => {
  const cluster = await startCluster();
  const clock = new FakeClock(Date.parse("2026-06-01T00:00:00Z"));
  const runtime = new FakeRuntime(clock);
  runtime.behaviour = (c) => (c.name === "init" ? { kind: "exit", code: 0 } : { kind: "run" });
  try {
    const first = await startHarness({ cluster, clock, runtime: async () => runtime });
    try {
      await first.createPod({
        initContainers: [{ name: "init", image: "x", command: ["true"] }],
        containers: [{ name: "main", image: "x", command: ["sleep", "1"] }],
      });
      await first.waitPod("p", (p) => p.status?.phase === "Running", "Running");
      await first.kubelet.stop({ stopPods: false });
    } finally {
      await first.close();
    }
    assert.equal(runtime.running("main").length, 1, "stop({stopPods: false}) leaves the pod running");

    const second = await startHarness({ cluster, clock, runtime: async () => runtime });
    try {
      runtime.exit("main", 1);
      const pod = await second.waitPod(
        "p",
        (p) => containerStatus(p, "main")?.restartCount === 1 && containerStatus(p, "main")?.state?.running,
        "main restarted once by the new kubelet",
      );
      assert.equal(containerStatus(pod, "main")?.lastState?.terminated?.exitCode, 1);
      assert.equal(runtime.calls.filter((c) => c === "start init").length, 1, "init ran once");
      assert.equal(runtime.calls.filter((c) => c.startsWith("runSandbox")).length, 1, "sandbox adopted");
      await second.client.resource({ group: "", version: "v1", resource: "pods" }, "default").delete("p");
      await waitFor(async () => (await second.getPod("p")) === undefined, 15_000, "pod deleted");
      assert.equal(runtime.sandboxes.size, 0);
    } finally {
      await second.close();
    }
  } finally {
    await cluster.close();
  }
});
