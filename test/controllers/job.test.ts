import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import type { ResourceClient } from "../../src/client/index.js";
import { jobController } from "../../src/controllers/job/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, startControllerEnv } from "./harness.js";

const JOBS = { group: "batch", version: "v1", resource: "jobs" };
const PODS = { group: "", version: "v1", resource: "pods" };
const EVENTS = { group: "", version: "v1", resource: "events" };

function jobObject(name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "default" },
    spec: {
      ...spec,
      template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } },
    },
  };
}

describe("job controller", () => {
  let env: ControllerTestEnv;
  let jobs: ResourceClient;
  let pods: ResourceClient;

  before(async () => {
    env = await startControllerEnv();
    jobs = env.client.resource(JOBS, "default");
    pods = env.client.resource(PODS, "default");
  });
  afterEach(async () => {
    await env.stopAll();
  });
  after(async () => {
    await env.close();
  });

  const podsOf = async (job: KubeObject) =>
    (await pods.list({ labelSelector: `batch.kubernetes.io/controller-uid=${job.metadata?.uid}` })).items;
  const condition = (job: KubeObject, type: string) =>
    (job.status?.conditions ?? []).find((c: KubeObject) => c.type === type && c.status === "True");
  const setPhase = async (pod: KubeObject, phase: string) => {
    const fresh = await pods.get(pod.metadata?.name ?? "");
    fresh.status = { ...(fresh.status ?? {}), phase };
    await pods.updateStatus(fresh);
  };

  test("runs completions pods with parallelism and completes when they succeed", async () => {
    const running = await env.run([jobController]);
    const job = await jobs.create(jobObject("pi", { completions: 3, parallelism: 2 }));
    await waitFor(async () => (await podsOf(job)).length === 2, 10_000, "2 pods");
    const first = await podsOf(job);
    const pod = first[0]!;
    assert.equal(pod.metadata?.labels?.["batch.kubernetes.io/job-name"], "pi");
    assert.equal(pod.metadata?.ownerReferences?.[0]?.uid, job.metadata?.uid);
    assert.equal(pod.metadata?.ownerReferences?.[0]?.controller, true);
    await waitFor(async () => (await jobs.get("pi")).status?.active === 2, 10_000, "active=2");
    assert.ok((await jobs.get("pi")).status?.startTime);
    for (const p of first) await setPhase(p, "Succeeded");
    // One completion remains: only one new pod, never more than completions in total.
    await waitFor(async () => (await podsOf(job)).length === 3, 10_000, "third pod");
    const third = (await podsOf(job)).find((p) => p.status?.phase !== "Succeeded")!;
    await setPhase(third, "Succeeded");
    await waitFor(async () => condition(await jobs.get("pi"), "Complete") !== undefined, 10_000, "Complete");
    const done = await jobs.get("pi");
    assert.equal(done.status.succeeded, 3);
    assert.equal(done.status.active, 0);
    assert.ok(done.status.completionTime);
    assert.equal((await podsOf(job)).length, 3);
    await running.stop();
  });

  test("fails with BackoffLimitExceeded once more pods failed than backoffLimit", async () => {
    const running = await env.run([jobController]);
    const job = await jobs.create(jobObject("flaky", { backoffLimit: 1 }));
    for (let failed = 0; failed < 2; failed++) {
      await waitFor(async () =>
        (await podsOf(job)).some((p) => !p.status?.phase || p.status.phase === "Pending"),
      );
      const live = (await podsOf(job)).find((p) => p.status?.phase !== "Failed")!;
      await setPhase(live, "Failed");
    }
    await waitFor(async () => condition(await jobs.get("flaky"), "Failed") !== undefined, 10_000, "Failed");
    const failed = await jobs.get("flaky");
    assert.equal(condition(failed, "Failed").reason, "BackoffLimitExceeded");
    assert.equal(failed.status.failed, 2);
    assert.equal((await podsOf(job)).length, 2, "no pod after the limit");
    await running.stop();
  });

  test("activeDeadlineSeconds fails the job and deletes its active pods", async () => {
    const running = await env.run([jobController]);
    const job = await jobs.create(
      jobObject("slow", { activeDeadlineSeconds: 1, parallelism: 2, completions: 2 }),
    );
    await waitFor(async () => (await podsOf(job)).length === 2);
    await waitFor(async () => condition(await jobs.get("slow"), "Failed") !== undefined, 10_000, "deadline");
    assert.equal(condition(await jobs.get("slow"), "Failed").reason, "DeadlineExceeded");
    await waitFor(async () => (await podsOf(job)).length === 0, 10_000, "pods deleted");
    const events = await env.client.resource(EVENTS, "default").list();
    assert.ok(events.items.some((e) => e.reason === "DeadlineExceeded" && e.involvedObject?.name === "slow"));
    await running.stop();
  });

  test("suspend deletes active pods; resume recreates them", async () => {
    const running = await env.run([jobController]);
    const job = await jobs.create(jobObject("sus", { parallelism: 2, completions: 4 }));
    await waitFor(async () => (await podsOf(job)).length === 2);
    await jobs.patch("sus", "merge", { spec: { suspend: true } });
    await waitFor(async () => (await podsOf(job)).length === 0, 10_000, "pods gone");
    await waitFor(async () => condition(await jobs.get("sus"), "Suspended") !== undefined);
    await jobs.patch("sus", "merge", { spec: { suspend: false } });
    await waitFor(async () => (await podsOf(job)).length === 2, 10_000, "pods back");
    await running.stop();
  });

  test("a restarted controller converges without creating extra pods; a lost pod is replaced", async () => {
    let running = await env.run([jobController]);
    const job = await jobs.create(jobObject("restart", { parallelism: 3, completions: 3 }));
    await waitFor(async () => (await podsOf(job)).length === 3);
    await running.stop();
    // While no controller runs: one pod succeeds, one is deleted.
    const [a, b] = await podsOf(job);
    await setPhase(a!, "Succeeded");
    await pods.delete(b!.metadata?.name ?? "");
    running = await env.run([jobController]);
    await waitFor(async () => (await podsOf(job)).length === 3, 10_000, "replacement");
    await waitFor(async () => (await jobs.get("restart")).status?.succeeded === 1);
    assert.equal((await podsOf(job)).filter((p) => p.status?.phase !== "Succeeded").length, 2);
    await running.stop();
  });

  test("a deleted job's pods are not taken over by a new job of the same name", async () => {
    const running = await env.run([jobController]);
    const old = await jobs.create(jobObject("reborn", { parallelism: 1, completions: 1 }));
    await waitFor(async () => (await podsOf(old)).length === 1);
    // No garbage collector runs here: the old pod stays behind, owned by a job that is gone.
    await jobs.delete("reborn");
    const fresh = await jobs.create(jobObject("reborn", { parallelism: 1, completions: 1 }));
    await waitFor(async () => (await podsOf(fresh)).length === 1, 10_000, "the new job's own pod");
    await setPhase((await podsOf(old))[0]!, "Succeeded");
    // The new pod turns ready after the old one finished: once status shows ready=1, the
    // controller has seen both changes.
    const mine = (await podsOf(fresh))[0]!;
    mine.status = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
    await pods.updateStatus(mine);
    await waitFor(async () => (await jobs.get("reborn")).status?.ready === 1, 10_000, "ready=1");
    const status = (await jobs.get("reborn")).status;
    assert.equal(status.succeeded, 0, "the old job's success is not the new job's");
    await running.stop();
  });

  test("a stale status write (conflict) is retried", async () => {
    const running = await env.run([jobController]);
    const job = await jobs.create(jobObject("conflict", { parallelism: 1, completions: 1 }));
    await waitFor(async () => (await podsOf(job)).length === 1);
    // Bump the job's resourceVersion under the controller while it reconciles status.
    await jobs.patch("conflict", "merge", { metadata: { labels: { touched: "1" } } });
    const [pod] = await podsOf(job);
    await setPhase(pod!, "Succeeded");
    await waitFor(async () => condition(await jobs.get("conflict"), "Complete") !== undefined);
    await running.stop();
  });
});
