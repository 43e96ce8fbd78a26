import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import type { KubeObject } from "../../src/api/types.js";
import { FakeClock } from "../../src/client/clock.js";
import { type ProbeKind, ProberManager, type ProbeTarget } from "../../src/kubelet/prober.js";
import { waitFor } from "../support/require.js";

const target: ProbeTarget = {
  podIP: "127.0.0.1",
  containerPorts: [],
  exec: async () => ({ exitCode: 0, stdout: "", timedOut: false }),
};

function pod(probes: Record<string, unknown>): KubeObject {
  return {
    metadata: { name: "web", namespace: "app", uid: "uid-1" },
    spec: { containers: [{ name: "main", ...probes }] },
  };
}

/** A manager whose probes answer from `answers[kind]` (true = pass), counting attempts. */
function harness(registry?: Registry) {
  const clock = new FakeClock();
  const answers: Record<ProbeKind, boolean> = { liveness: true, readiness: true, startup: true };
  const attempts: Record<ProbeKind, number> = { liveness: 0, readiness: 0, startup: 0 };
  const changes: string[] = [];
  const kindOf = (probe: Record<string, unknown>) =>
    (probe.exec as { command: string[] }).command[0] as ProbeKind;
  const manager = new ProberManager({
    clock,
    registry,
    onChange: (uid, c, kind, ok) => changes.push(`${uid}/${c} ${kind} ${ok}`),
    runProbe: async (probe) => {
      const kind = kindOf(probe);
      attempts[kind]++;
      return { ok: answers[kind], output: "" };
    },
  });
  /** Advances the clock by ms and waits until the expected total number of attempts happened. */
  async function advance(ms: number, expectAttempts: number) {
    clock.advance(ms);
    const total = () => attempts.liveness + attempts.readiness + attempts.startup;
    await waitFor(
      () => total() === expectAttempts,
      5000,
      `${expectAttempts} probe attempts (have ${total()})`,
    );
    // Let the attempt's result be applied and the next timer be set.
    await new Promise((r) => setImmediate(r));
  }
  return { clock, answers, attempts, changes, manager, advance };
}

const probe = (kind: ProbeKind, extra: Record<string, unknown> = {}) => ({
  exec: { command: [kind] },
  ...extra,
});

test("readiness: false until successThreshold passes, follows failureThreshold, honours initial delay and period", async (t) => {
  const h = harness();
  t.after(() => h.manager.stop());
  h.manager.startContainer(
    pod({
      readinessProbe: probe("readiness", {
        initialDelaySeconds: 5,
        periodSeconds: 2,
        successThreshold: 2,
        failureThreshold: 2,
      }),
    }),
    "main",
    "c1",
    target,
  );
  assert.equal(h.manager.ready("uid-1", "main"), false, "readiness starts false");
  assert.equal(h.manager.started("uid-1", "main"), true, "no startup probe");
  h.clock.advance(4999);
  assert.equal(h.attempts.readiness, 0, "nothing before initialDelaySeconds");
  await h.advance(1, 1);
  assert.equal(h.manager.ready("uid-1", "main"), false, "one success is below successThreshold 2");
  await h.advance(2000, 2);
  assert.equal(h.manager.ready("uid-1", "main"), true);
  assert.deepEqual(h.changes, ["uid-1/main readiness true"]);
  h.answers.readiness = false;
  await h.advance(2000, 3);
  assert.equal(h.manager.ready("uid-1", "main"), true, "one failure is below failureThreshold 2");
  await h.advance(2000, 4);
  assert.equal(h.manager.ready("uid-1", "main"), false);
  await h.advance(2000, 5);
  assert.deepEqual(
    h.changes,
    ["uid-1/main readiness true", "uid-1/main readiness false"],
    "reported on change only",
  );
});

test("liveness failure is reported once per threshold crossing, then probing holds", async (t) => {
  const h = harness();
  t.after(() => h.manager.stop());
  const p = pod({ livenessProbe: probe("liveness") });
  h.manager.startContainer(p, "main", "c1", target);
  assert.equal(h.manager.ready("uid-1", "main"), true, "no readiness probe: ready once started");
  await h.advance(0, 1);
  h.answers.liveness = false;
  await h.advance(10_000, 2);
  await h.advance(10_000, 3);
  assert.deepEqual(h.changes, []);
  await h.advance(10_000, 4);
  assert.deepEqual(h.changes, ["uid-1/main liveness false"], "third failure (default failureThreshold 3)");
  h.clock.advance(60_000);
  assert.equal(h.attempts.liveness, 4, "on hold until a new container starts");
  assert.equal(h.clock.pending(), 0, "no timers left while on hold");
  // The kubelet restarts the container: probing starts over.
  h.answers.liveness = true;
  h.manager.startContainer(p, "main", "c2", target);
  await h.advance(0, 5);
  assert.deepEqual(h.changes, ["uid-1/main liveness false"]);
});

test("startup probe gates liveness and readiness", async (t) => {
  const h = harness();
  t.after(() => h.manager.stop());
  h.answers.startup = false;
  h.manager.startContainer(
    pod({
      startupProbe: probe("startup", { periodSeconds: 1, failureThreshold: 30 }),
      livenessProbe: probe("liveness", { periodSeconds: 1 }),
    }),
    "main",
    "c1",
    target,
  );
  assert.equal(h.manager.started("uid-1", "main"), false);
  assert.equal(h.manager.ready("uid-1", "main"), false);
  await h.advance(0, 1);
  await h.advance(1000, 2);
  assert.equal(h.attempts.liveness, 0, "liveness waits for startup");
  h.answers.startup = true;
  await h.advance(1000, 3);
  assert.equal(h.manager.started("uid-1", "main"), true);
  assert.equal(h.manager.ready("uid-1", "main"), true);
  assert.deepEqual(h.changes, ["uid-1/main startup true"]);
  await h.advance(1000, 4);
  assert.equal(h.attempts.liveness, 1);
  assert.equal(h.attempts.startup, 3, "startup probing ends once it passed");
});

test("startup failing past its threshold is reported; stop/remove forget containers", async (t) => {
  const registry = new Registry();
  const h = harness(registry);
  t.after(() => h.manager.stop());
  h.answers.startup = false;
  h.manager.startContainer(
    pod({ startupProbe: probe("startup", { failureThreshold: 2 }) }),
    "main",
    "c1",
    target,
  );
  await h.advance(0, 1);
  await h.advance(10_000, 2);
  assert.deepEqual(h.changes, ["uid-1/main startup false"]);
  const text = await registry.metrics();
  const failed = text
    .split("\n")
    .find((l) => l.startsWith("prober_probe_total{") && l.includes('result="failed"'));
  assert.ok(failed, text);
  for (const label of [
    'probe_type="Startup"',
    'container="main"',
    'pod="web"',
    'namespace="app"',
    'pod_uid="uid-1"',
  ])
    assert.ok(failed.includes(label), `${label} in ${failed}`);
  assert.ok(failed.endsWith(" 2"), failed);
  assert.doesNotMatch(
    text,
    /prober_probe_duration_seconds_count/,
    "durations are observed for successful probes only",
  );
  h.manager.removePod("uid-1");
  assert.equal(h.manager.started("uid-1", "main"), false);
  assert.equal(h.clock.pending(), 0);
  h.manager.startContainer(pod({ readinessProbe: probe("readiness") }), "main", "c2", target);
  h.manager.stopContainer("uid-1", "main");
  assert.equal(h.clock.pending(), 0);
  assert.equal(h.manager.ready("uid-1", "main"), false);
});
