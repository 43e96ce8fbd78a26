// Pod lifecycle through the kubelet with a FakeRuntime and a fake clock against a real apiserver:
// running and ready, init container order, restart back-off (CrashLoopBackOff with upstream's
// message), restart policies, visible start errors, graceful deletion with preStop, liveness kills.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { FakeClock } from "../../src/client/index.js";
import { startCluster, type TestCluster } from "../client/cluster.js";
import { waitFor } from "../support/require.js";
import { conditionOf, containerStatus, type Harness, startHarness } from "./kubelet-harness.js";

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster();
});
after(async () => {
  await cluster?.close();
});

// Each test's clock starts on its own day: event names derive from the clock, and the cluster is shared.
let day = 0;
const newClock = () => new FakeClock(Date.parse("2026-01-01T00:00:00Z") + day++ * 86_400_000);

async function withKubelet(fn: (h: Harness) => Promise<void>, clock = newClock()) {
  const h = await startHarness({ clock, cluster });
  try {
    await fn(h);
  } finally {
    // Pods of one test must not leak into the next: delete them and let this kubelet finish them.
    const pods = h.client.resource({ group: "", version: "v1", resource: "pods" }, "default");
    for (const p of (await pods.list()).items)
      await pods.delete(p.metadata?.name as string, { gracePeriodSeconds: 0 }).catch(() => {});
    await h.close();
  }
}

const sleeper = (name: string, extra: KubeObject = {}) => ({
  name,
  image: "busybox",
  command: ["sleep", "1000"],
  ...extra,
});

describe("pod worker", () => {
  test("runs a pod: sandbox, containers, Running and Ready, events as upstream", async () => {
    await withKubelet(async (h) => {
      const created = await h.createPod({ containers: [sleeper("a"), sleeper("b")] });
      const pod = await h.waitPod(
        "p",
        (p) => p.status?.phase === "Running" && conditionOf(p, "Ready")?.status === "True",
        "Running and Ready",
      );
      const uid = created.metadata?.uid;
      assert.equal(pod.status.podIP, "10.244.0.10");
      assert.deepEqual(pod.status.podIPs, [{ ip: "10.244.0.10" }]);
      assert.equal(pod.status.hostIP, "127.0.0.1");
      assert.equal(pod.status.qosClass, "BestEffort");
      assert.ok(pod.status.startTime);
      for (const type of ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"])
        assert.equal(conditionOf(pod, type)?.status, "True", type);
      const a = containerStatus(pod, "a");
      assert.ok(a?.state?.running?.startedAt);
      assert.equal(a?.ready, true);
      assert.equal(a?.started, true);
      assert.equal(a?.restartCount, 0);
      assert.equal(a?.image, "busybox");
      assert.equal(a?.imageID, "fake://busybox");
      assert.match(a?.containerID, /^fake:\/\/c\d+$/);
      assert.equal(h.fake.sandboxes.get(`sb-${uid}`)?.config.name, "p");
      assert.deepEqual(
        h.fake.running().map((c) => c.config.argv),
        [
          ["sleep", "1000"],
          ["sleep", "1000"],
        ],
      );
      await waitFor(
        async () => {
          const reasons = (await h.events()).map((e) => `${e.reason}: ${e.message}`);
          return [
            'Pulled: Container image "busybox" already present on machine',
            "Created: Created container: a",
            "Started: Started container a",
          ].every((x) => reasons.includes(x));
        },
        10_000,
        "Pulled, Created and Started events",
      );
    });
  });

  test("init containers run in order, each to exit 0, before the containers", async () => {
    await withKubelet(async (h) => {
      h.fake.behaviour = (c) => (c.name.startsWith("init") ? { kind: "exit", code: 0 } : { kind: "run" });
      await h.createPod({
        initContainers: [sleeper("init1"), sleeper("init2")],
        containers: [sleeper("main")],
      });
      const pod = await h.waitPod("p", (p) => p.status?.phase === "Running", "Running");
      const starts = h.fake.calls.filter((c) => c.startsWith("start "));
      assert.deepEqual(starts, ["start init1", "start init2", "start main"]);
      const init = pod.status.initContainerStatuses;
      assert.deepEqual(
        init.map((s: KubeObject) => [
          s.name,
          s.state.terminated?.exitCode,
          s.state.terminated?.reason,
          s.ready,
        ]),
        [
          ["init1", 0, "Completed", true],
          ["init2", 0, "Completed", true],
        ],
      );
      assert.equal(conditionOf(pod, "Initialized")?.status, "True");
    });
  });

  test("a sidecar (init container with restartPolicy Always) starts first and keeps running", async () => {
    await withKubelet(async (h) => {
      h.fake.behaviour = (c) => (c.name === "init" ? { kind: "exit", code: 0 } : { kind: "run" });
      await h.createPod({
        restartPolicy: "Never",
        initContainers: [sleeper("side", { restartPolicy: "Always" }), sleeper("init")],
        containers: [sleeper("main")],
      });
      const pod = await h.waitPod("p", (p) => p.status?.phase === "Running", "Running");
      assert.deepEqual(
        h.fake.calls.filter((c) => c.startsWith("start ")),
        ["start side", "start init", "start main"],
      );
      const side = pod.status.initContainerStatuses.find((s: KubeObject) => s.name === "side");
      assert.ok(side.state.running);
      assert.equal(side.ready, true);
      assert.equal(conditionOf(pod, "Initialized")?.status, "True");
      // The pod finishes when its containers do; the sidecar is stopped with it.
      h.fake.exit("main", 0);
      await h.waitPod("p", (p) => p.status?.phase === "Succeeded", "Succeeded");
      await waitFor(() => h.fake.running("side").length === 0, 10_000, "sidecar stopped");
    });
  });

  test("a failing init container with restartPolicy Never fails the pod; the containers never start", async () => {
    await withKubelet(async (h) => {
      h.fake.behaviour = (c) => (c.name === "init" ? { kind: "exit", code: 3 } : { kind: "run" });
      await h.createPod({
        restartPolicy: "Never",
        initContainers: [sleeper("init")],
        containers: [sleeper("main")],
      });
      const pod = await h.waitPod("p", (p) => p.status?.phase === "Failed", "Failed");
      assert.equal(pod.status.initContainerStatuses[0].state.terminated.exitCode, 3);
      assert.equal(conditionOf(pod, "Initialized")?.status, "False");
      assert.equal(conditionOf(pod, "Initialized")?.message, "containers with incomplete status: [init]");
      assert.equal(containerStatus(pod, "main")?.state?.waiting?.reason, "PodInitializing");
      assert.ok(!h.fake.calls.includes("start main"));
    });
  });

  test("restart back-off: at once, then 10 s, then 20 s, with CrashLoopBackOff as upstream words it", async () => {
    const clock = newClock();
    await withKubelet(async (h) => {
      const created = await h.createPod({ containers: [sleeper("c")] });
      const uid = created.metadata?.uid;
      await h.waitPod("p", (p) => containerStatus(p, "c")?.state?.running !== undefined, "running");
      h.fake.exit("c", 1);
      // First failure: restarted at once.
      let pod = await h.waitPod(
        "p",
        (p) =>
          containerStatus(p, "c")?.restartCount === 1 &&
          containerStatus(p, "c")?.state?.running !== undefined,
        "restart 1",
      );
      assert.equal(containerStatus(pod, "c")?.lastState?.terminated?.exitCode, 1);
      assert.equal(containerStatus(pod, "c")?.lastState?.terminated?.reason, "Error");
      h.fake.exit("c", 1);
      pod = await h.waitPod(
        "p",
        (p) => containerStatus(p, "c")?.state?.waiting?.reason === "CrashLoopBackOff",
        "CrashLoopBackOff",
      );
      const waiting = containerStatus(pod, "c")?.state?.waiting;
      assert.equal(waiting.message, `back-off 10s restarting failed container=c pod=p_default(${uid})`);
      assert.equal(containerStatus(pod, "c")?.lastState?.terminated?.exitCode, 1);
      assert.equal(pod.status.phase, "Running");
      assert.equal(conditionOf(pod, "Ready")?.status, "False");
      clock.advance(9_000);
      assert.equal(h.fake.running("c").length, 0, "not restarted before 10 s");
      await h.advanceUntil(() => h.fake.running("c").length === 1, 500, "restart after 10 s");
      pod = await h.waitPod("p", (p) => containerStatus(p, "c")?.restartCount === 2, "restart 2");
      h.fake.exit("c", 1);
      pod = await h.waitPod(
        "p",
        (p) => (containerStatus(p, "c")?.state?.waiting?.message ?? "").startsWith("back-off 20s"),
        "back-off 20s",
      );
      await waitFor(
        async () =>
          (await h.events()).some(
            (e) =>
              e.reason === "BackOff" &&
              e.message === `Back-off restarting failed container c in pod p_default(${uid})`,
          ),
        10_000,
        "BackOff event",
      );
    }, clock);
  });

  test("restartPolicy Never: exit 0 → Succeeded; OnFailure restarts a failure, then Succeeded", async () => {
    await withKubelet(async (h) => {
      h.fake.behaviour = () => ({ kind: "exit", code: 0 });
      await h.createPod({ restartPolicy: "Never", containers: [sleeper("c")] });
      const pod = await h.waitPod("p", (p) => p.status?.phase === "Succeeded", "Succeeded");
      assert.equal(containerStatus(pod, "c")?.state?.terminated?.reason, "Completed");
      assert.equal(conditionOf(pod, "Ready")?.reason, "PodCompleted");
      assert.equal(h.fake.calls.filter((c) => c === "start c").length, 1);
    });
    await withKubelet(async (h) => {
      let n = 0;
      h.fake.behaviour = () => ({ kind: "exit", code: n++ === 0 ? 2 : 0 });
      await h.createPod({ restartPolicy: "OnFailure", containers: [sleeper("c")] });
      const pod = await h.waitPod("p", (p) => p.status?.phase === "Succeeded", "Succeeded");
      assert.equal(containerStatus(pod, "c")?.restartCount, 1);
      assert.equal(containerStatus(pod, "c")?.lastState?.terminated?.exitCode, 2);
    });
    await withKubelet(async (h) => {
      h.fake.behaviour = () => ({ kind: "exit", code: 1 });
      await h.createPod({ restartPolicy: "Never", containers: [sleeper("c")] });
      const pod = await h.waitPod("p", (p) => p.status?.phase === "Failed", "Failed");
      assert.equal(containerStatus(pod, "c")?.state?.terminated?.exitCode, 1);
    });
  });

  test("a runtime rejection shows as RunContainerError, then CrashLoopBackOff; never silent", async () => {
    const message = 'process runtime: image "nginx" has no entrypoint here; give the container a command';
    const clock = newClock();
    await withKubelet(async (h) => {
      h.fake.behaviour = () => ({ kind: "reject", reason: "ContainerCannotRun", message });
      await h.createPod({ containers: [{ name: "web", image: "nginx" }] });
      let pod = await h.waitPod(
        "p",
        (p) => containerStatus(p, "web")?.state?.waiting?.reason === "RunContainerError",
        "RunContainerError",
      );
      assert.equal(containerStatus(pod, "web")?.state?.waiting?.message, message);
      await h.advanceUntil(
        async () =>
          containerStatus((await h.getPod("p")) ?? {}, "web")?.state?.waiting?.reason === "CrashLoopBackOff",
        2_000,
        "CrashLoopBackOff",
      );
      pod = (await h.getPod("p")) as KubeObject;
      assert.equal(containerStatus(pod, "web")?.lastState?.terminated?.reason, "ContainerCannotRun");
      assert.equal(containerStatus(pod, "web")?.lastState?.terminated?.message, message);
      await waitFor(
        async () =>
          (await h.events()).some((e) => e.reason === "Failed" && e.message === `Error: ${message}`),
        10_000,
        `Failed event (have ${JSON.stringify((await h.events()).map((e) => [e.reason, e.message]))})`,
      );
    }, clock);
  });

  test("a missing configmap shows as CreateContainerConfigError with upstream's message", async () => {
    await withKubelet(async (h) => {
      await h.createPod({
        containers: [
          sleeper("c", { env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "nope", key: "k" } } }] }),
        ],
      });
      const pod = await h.waitPod(
        "p",
        (p) => containerStatus(p, "c")?.state?.waiting?.reason === "CreateContainerConfigError",
        "CreateContainerConfigError",
      );
      assert.equal(containerStatus(pod, "c")?.state?.waiting?.message, 'configmap "nope" not found');
    });
  });

  test("graceful deletion: preStop, SIGTERM with the grace period, everything removed, pod deleted", async () => {
    await withKubelet(async (h) => {
      const created = await h.createPod({
        terminationGracePeriodSeconds: 7,
        containers: [
          sleeper("c", { lifecycle: { preStop: { exec: { command: ["sh", "-c", "echo bye"] } } } }),
          sleeper("d"),
        ],
      });
      await h.waitPod("p", (p) => p.status?.phase === "Running", "Running");
      await h.client
        .resource({ group: "", version: "v1", resource: "pods" }, "default")
        .delete("p", { gracePeriodSeconds: 6 });
      await waitFor(async () => (await h.getPod("p")) === undefined, 15_000, "pod deleted");
      assert.ok(h.fake.calls.includes("exec c sh -c echo bye"), h.fake.calls.join("\n"));
      assert.deepEqual(h.fake.stopGrace.get("d"), [6]);
      assert.equal(h.fake.stopGrace.get("c")?.length, 1);
      const preStopAt = h.fake.calls.indexOf("exec c sh -c echo bye");
      assert.ok(preStopAt < h.fake.calls.indexOf("stop c 6"), "preStop runs before the stop");
      assert.ok(h.fake.calls.includes(`removeSandbox sb-${created.metadata?.uid}`));
      assert.equal(h.fake.containers.size, 0);
      assert.equal(h.kubelet.worker.states.size, 0);
    });
  });

  test("a changed image restarts the container", async () => {
    await withKubelet(async (h) => {
      await h.createPod({ containers: [sleeper("c")] });
      await h.waitPod("p", (p) => containerStatus(p, "c")?.state?.running !== undefined, "running");
      await h.client
        .resource({ group: "", version: "v1", resource: "pods" }, "default")
        .patch("p", "strategic", { spec: { containers: [{ name: "c", image: "busybox:2" }] } });
      const pod = await h.waitPod(
        "p",
        (p) => containerStatus(p, "c")?.image === "busybox:2" && containerStatus(p, "c")?.state?.running,
        "restarted with the new image",
      );
      assert.equal(containerStatus(pod, "c")?.restartCount, 1);
      assert.deepEqual(
        h.fake.running("c").map((c) => c.config.image),
        ["busybox:2"],
      );
    });
  });

  test("a failing liveness probe kills and restarts the container", async () => {
    const clock = newClock();
    await withKubelet(async (h) => {
      h.fake.execHandler = () => ({ exitCode: 1, stdout: "unhealthy\n", stderr: "", timedOut: false });
      await h.createPod({
        containers: [
          sleeper("c", {
            livenessProbe: { exec: { command: ["check"] }, periodSeconds: 1, failureThreshold: 2 },
          }),
        ],
      });
      await h.waitPod("p", (p) => containerStatus(p, "c")?.state?.running !== undefined, "running");
      await h.advanceUntil(
        async () => containerStatus((await h.getPod("p")) ?? {}, "c")?.restartCount === 1,
        1_000,
        "restart after liveness failure",
      );
      await waitFor(
        async () => {
          const events = await h.events();
          return (
            events.some((e) => e.reason === "Unhealthy" && e.message.startsWith("Liveness probe failed:")) &&
            events.some(
              (e) =>
                e.reason === "Killing" &&
                e.message === "Container c failed liveness probe, will be restarted",
            )
          );
        },
        10_000,
        "Unhealthy and Killing events",
      );
    }, clock);
  });
});
