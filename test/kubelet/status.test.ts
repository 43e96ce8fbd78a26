// Pure status computation: upstream's getPhase cases, the conditions' reasons and messages,
// lastState and restartCount, transition times carried over, and the restart back-off arithmetic.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { FakeClock } from "../../src/client/index.js";
import { goDuration, RestartBackoff } from "../../src/kubelet/backoff.js";
import { type ContainerView, computePodStatus, getPhase } from "../../src/kubelet/status.js";
import type { ContainerStatus } from "../../src/runtime/index.js";

const at = new Date("2026-01-02T03:04:05Z");
const running = (id: string): ContainerStatus => ({
  id,
  name: "c",
  attempt: 0,
  state: "running",
  createdAt: at,
  startedAt: at,
  logPath: "/x",
});
const exited = (id: string, exitCode: number): ContainerStatus => ({
  ...running(id),
  state: "exited",
  finishedAt: new Date(at.getTime() + 5000),
  exitCode,
  reason: exitCode === 0 ? "Completed" : "Error",
});
const view = (name: string, v: Partial<ContainerView> = {}): ContainerView => ({
  name,
  image: "img",
  restartCount: 0,
  ready: false,
  started: false,
  ...v,
});
const pod = (spec: KubeObject, status: KubeObject = {}): KubeObject => ({
  metadata: { name: "p", namespace: "ns", uid: "u" },
  spec,
  status,
});
const statusOf = (p: KubeObject, containers: ContainerView[], init: ContainerView[] = []) =>
  computePodStatus({
    pod: p,
    hostIP: "10.0.0.1",
    podIP: "10.1.0.5",
    sandboxReady: true,
    init,
    containers,
    qosClass: "BestEffort",
    runtimeName: "process",
    now: at.getTime(),
  });

test("getPhase follows upstream", () => {
  const spec = (restartPolicy: string) => ({ restartPolicy, containers: [{ name: "a" }, { name: "b" }] });
  const run = { state: { running: {} } };
  const done = (exitCode: number) => ({ state: { terminated: { exitCode } } });
  const crash = {
    state: { waiting: { reason: "CrashLoopBackOff" } },
    lastState: { terminated: { exitCode: 1 } },
  };
  const p = (policy: string) => pod(spec(policy));
  assert.equal(
    getPhase(
      p("Always"),
      [],
      [
        { name: "a", ...run },
        { name: "b", ...run },
      ],
    ),
    "Running",
  );
  assert.equal(getPhase(p("Always"), [], [{ name: "a", ...run }]), "Pending", "unknown container");
  assert.equal(
    getPhase(
      p("Always"),
      [],
      [
        { name: "a", ...done(0) },
        { name: "b", ...done(1) },
      ],
    ),
    "Running",
  );
  assert.equal(
    getPhase(
      p("Never"),
      [],
      [
        { name: "a", ...done(0) },
        { name: "b", ...done(1) },
      ],
    ),
    "Failed",
  );
  assert.equal(
    getPhase(
      p("Never"),
      [],
      [
        { name: "a", ...done(0) },
        { name: "b", ...done(0) },
      ],
    ),
    "Succeeded",
  );
  assert.equal(
    getPhase(
      p("OnFailure"),
      [],
      [
        { name: "a", ...done(0) },
        { name: "b", ...crash },
      ],
    ),
    "Running",
  );
  assert.equal(
    getPhase(
      p("OnFailure"),
      [],
      [
        { name: "a", ...done(0) },
        { name: "b", ...done(0) },
      ],
    ),
    "Succeeded",
  );
  assert.equal(
    getPhase(
      p("Always"),
      [],
      [
        { name: "a", state: { waiting: { reason: "ContainerCreating" } } },
        { name: "b", ...run },
      ],
    ),
    "Pending",
  );
  const withInit = pod({
    restartPolicy: "Never",
    initContainers: [{ name: "i" }],
    containers: [{ name: "a" }],
  });
  assert.equal(
    getPhase(withInit, [{ name: "i", ...done(2) }], [{ name: "a", state: { waiting: {} } }]),
    "Failed",
  );
  assert.equal(
    getPhase(withInit, [{ name: "i", ...run }], [{ name: "a", state: { waiting: {} } }]),
    "Pending",
  );
});

test("status: states, lastState, conditions with upstream's reasons and messages", () => {
  const p = pod(
    { containers: [{ name: "a" }, { name: "b" }] },
    { conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }] },
  );
  const s = statusOf(p, [
    view("a", { current: running("1"), ready: true, started: true }),
    view("b", {
      current: exited("2", 1),
      previous: exited("0", 1),
      restartCount: 2,
      waiting: {
        reason: "CrashLoopBackOff",
        message: "back-off 20s restarting failed container=b pod=p_ns(u)",
      },
    }),
  ]);
  assert.equal(s.phase, "Running");
  const [a, b] = s.containerStatuses;
  assert.deepEqual(a.state, { running: { startedAt: "2026-01-02T03:04:05Z" } });
  assert.equal(a.containerID, "process://1");
  assert.equal(a.imageID, "process://img");
  assert.deepEqual(b.state.waiting, {
    reason: "CrashLoopBackOff",
    message: "back-off 20s restarting failed container=b pod=p_ns(u)",
  });
  assert.deepEqual(b.lastState.terminated, {
    exitCode: 1,
    reason: "Error",
    startedAt: "2026-01-02T03:04:05Z",
    finishedAt: "2026-01-02T03:04:10Z",
    containerID: "process://2",
  });
  assert.equal(b.restartCount, 2);
  const cond = (t: string) => s.conditions.find((c: KubeObject) => c.type === t);
  assert.deepEqual(
    s.conditions.map((c: KubeObject) => c.type),
    ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"],
  );
  assert.equal(cond("Ready").status, "False");
  assert.equal(cond("Ready").reason, "ContainersNotReady");
  assert.equal(cond("Ready").message, "containers with unready status: [b]");
  assert.equal(cond("PodScheduled").lastTransitionTime, "2026-01-01T00:00:00Z");
  assert.equal(s.podIP, "10.1.0.5");
  assert.deepEqual(s.hostIPs, [{ ip: "10.0.0.1" }]);
  // Unchanged condition status keeps its transition time.
  const again = computePodStatus({
    pod: { ...p, status: s },
    hostIP: "10.0.0.1",
    sandboxReady: true,
    init: [],
    containers: [view("a", { current: running("1"), ready: true, started: true }), view("b")],
    qosClass: "BestEffort",
    runtimeName: "process",
    now: at.getTime() + 60_000,
  });
  assert.equal(
    again.conditions.find((c: KubeObject) => c.type === "Ready").lastTransitionTime,
    "2026-01-02T03:04:05Z",
  );
  assert.deepEqual(again.containerStatuses[1].state, { waiting: { reason: "ContainerCreating" } });
});

test("a finished pod stays finished; eviction sets Failed with reason and message", () => {
  const p = pod({ restartPolicy: "Always", containers: [{ name: "a" }] }, { phase: "Succeeded" });
  assert.equal(statusOf(p, [view("a", { current: running("1") })]).phase, "Succeeded");
  const evicted = computePodStatus({
    pod: pod({ containers: [{ name: "a" }] }),
    hostIP: "h",
    sandboxReady: true,
    init: [],
    containers: [view("a", { current: exited("1", 137) })],
    terminal: { phase: "Failed", reason: "Evicted", message: "The node was low on resource: memory." },
    qosClass: "BestEffort",
    runtimeName: "process",
    now: 0,
  });
  assert.equal(evicted.phase, "Failed");
  assert.equal(evicted.reason, "Evicted");
  assert.equal(evicted.message, "The node was low on resource: memory.");
});

test("restart back-off: 10 s doubling to 300 s, forgotten after 10 quiet minutes; Go durations", () => {
  const clock = new FakeClock(0);
  const b = new RestartBackoff(clock);
  assert.equal(b.inBackoffSince("k", 0), false);
  const seen: string[] = [];
  for (let i = 0; i < 7; i++) {
    b.next("k", clock.now());
    seen.push(goDuration(b.get("k")));
    assert.equal(b.inBackoffSince("k", clock.now()), true);
    clock.advance(b.get("k"));
    assert.equal(b.inBackoffSince("k", clock.now() - b.get("k")), false);
  }
  assert.deepEqual(seen, ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s", "5m0s"]);
  clock.advance(10 * 60_000 + 1);
  assert.equal(b.get("k"), 0);
  b.next("k", clock.now());
  assert.equal(b.get("k"), 10_000);
});
