import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { FakeClock, type ResourceClient } from "../../src/client/index.js";
import { newCronJobController } from "../../src/controllers/cronjob/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, startControllerEnv } from "./harness.js";

const CRONJOBS = { group: "batch", version: "v1", resource: "cronjobs" };
const JOBS = { group: "batch", version: "v1", resource: "jobs" };
const EVENTS = { group: "", version: "v1", resource: "events" };
const MINUTE = 60_000;

describe("cronjob controller", () => {
  let env: ControllerTestEnv;
  let cronjobs: ResourceClient;
  let jobs: ResourceClient;

  before(async () => {
    env = await startControllerEnv();
    cronjobs = env.client.resource(CRONJOBS, "default");
    jobs = env.client.resource(JOBS, "default");
  });
  afterEach(async () => {
    await env.stopAll();
  });
  after(async () => {
    await env.close();
  });

  async function create(name: string, spec: Record<string, unknown> = {}): Promise<KubeObject> {
    return cronjobs.create({
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name },
      spec: {
        schedule: "* * * * *",
        ...spec,
        jobTemplate: {
          metadata: { labels: { from: name } },
          spec: {
            template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } },
          },
        },
      },
    });
  }

  /** Jobs of the cronjob, by name. */
  const jobsOf = async (cj: KubeObject) =>
    (await jobs.list()).items
      .filter((j) => j.metadata?.ownerReferences?.[0]?.uid === cj.metadata?.uid)
      .map((j) => j.metadata?.name as string)
      .sort();
  const finish = async (name: string, type: "Complete" | "Failed", clock: FakeClock) => {
    const job = await jobs.get(name);
    const now = new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    job.status = {
      conditions: [{ type, status: "True", lastTransitionTime: now }],
      ...(type === "Complete" ? { completionTime: now, succeeded: 1 } : { failed: 1 }),
    };
    await jobs.updateStatus(job);
  };
  /** Moves the fake clock to `seconds` past the next whole minute. */
  const toNextMinute = (clock: FakeClock, seconds = 1) =>
    clock.advance(Math.floor(clock.now() / MINUTE) * MINUTE + MINUTE + seconds * 1000 - clock.now());
  const minuteName = (name: string, clock: FakeClock) => `${name}-${Math.floor(clock.now() / MINUTE)}`;

  test("creates a job per schedule time, named after the minute, and records it in status", async () => {
    const clock = new FakeClock(Date.now());
    const running = await env.run([newCronJobController({ clock })]);
    const cj = await create("every");
    toNextMinute(clock);
    const first = minuteName("every", clock);
    await waitFor(async () => (await jobsOf(cj)).includes(first), 10_000, first);
    const job = await jobs.get(first);
    assert.equal(job.metadata?.labels?.from, "every");
    assert.equal(job.metadata?.ownerReferences?.[0]?.kind, "CronJob");
    await waitFor(async () => (await cronjobs.get("every")).status?.active?.length === 1);
    const status = (await cronjobs.get("every")).status;
    assert.equal(status.active[0].name, first);
    assert.equal(Date.parse(status.lastScheduleTime), Math.floor(clock.now() / MINUTE) * MINUTE);
    // Allow: the next minute starts another job while the first still runs.
    toNextMinute(clock);
    await waitFor(async () => (await jobsOf(cj)).length === 2, 10_000, "second job");
    await running.stop();
  });

  test("Forbid waits for the running job; Replace deletes it", async () => {
    const clock = new FakeClock(Date.now());
    const running = await env.run([newCronJobController({ clock })]);
    const forbid = await create("forbid", { concurrencyPolicy: "Forbid" });
    const replace = await create("replace", { concurrencyPolicy: "Replace" });
    toNextMinute(clock);
    const firstForbid = minuteName("forbid", clock);
    const firstReplace = minuteName("replace", clock);
    await waitFor(async () => (await jobsOf(forbid)).length === 1 && (await jobsOf(replace)).length === 1);
    await waitFor(async () => (await cronjobs.get("forbid")).status?.active?.length === 1);
    toNextMinute(clock);
    const secondReplace = minuteName("replace", clock);
    await waitFor(async () => (await jobsOf(replace)).join() === secondReplace, 10_000, "replaced");
    await waitFor(async () =>
      (await env.client.resource(EVENTS, "default").list()).items.some(
        (e) => e.reason === "JobAlreadyActive" && e.involvedObject?.name === "forbid",
      ),
    );
    assert.deepEqual(await jobsOf(forbid), [firstForbid]);
    // Once the running job finishes, the missed run starts.
    await finish(firstForbid, "Complete", clock);
    await waitFor(async () => (await jobsOf(forbid)).length === 2, 10_000, "forbid's next job");
    await waitFor(
      async () => Boolean((await cronjobs.get("forbid")).status?.lastSuccessfulTime),
      10_000,
      "lastSuccessfulTime",
    );
    assert.ok(firstReplace !== secondReplace);
    await running.stop();
  });

  test("history limits delete the oldest finished jobs", async () => {
    const clock = new FakeClock(Date.now());
    const running = await env.run([newCronJobController({ clock })]);
    const cj = await create("hist", { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 });
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      toNextMinute(clock);
      const name = minuteName("hist", clock);
      made.push(name);
      await waitFor(async () => (await jobsOf(cj)).includes(name), 10_000, name);
      await finish(name, i === 1 ? "Failed" : "Complete", clock);
    }
    // Kept: the newest success only.
    await waitFor(async () => (await jobsOf(cj)).join() === made[2], 10_000, "history trimmed");
    await running.stop();
  });

  test("suspend and startingDeadlineSeconds hold back runs", async () => {
    const clock = new FakeClock(Date.now());
    const running = await env.run([newCronJobController({ clock })]);
    const cj = await create("held", { suspend: true, startingDeadlineSeconds: 10 });
    toNextMinute(clock);
    toNextMinute(clock, 30);
    await cronjobs.patch("held", "merge", { spec: { suspend: false } });
    // The last schedule time is 30 s ago, beyond the 10 s deadline: nothing starts.
    await waitFor(async () => (await cronjobs.get("held")).spec?.suspend === false);
    toNextMinute(clock, 5);
    const due = minuteName("held", clock);
    await waitFor(async () => (await jobsOf(cj)).length > 0, 10_000, "run after resume");
    assert.deepEqual(await jobsOf(cj), [due]);
    await running.stop();
  });

  test("a job created before a restart is adopted, not created twice; a deleted cronjob stops", async () => {
    const clock = new FakeClock(Date.now());
    const cj = await create("adopt", { schedule: "0 * * * *" });
    clock.advance(Math.floor(clock.now() / 3_600_000) * 3_600_000 + 3_600_000 + 1000 - clock.now());
    const name = `adopt-${Math.floor(clock.now() / MINUTE)}`;
    // What a controller that died before writing status left behind.
    await jobs.create({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name,
        ownerReferences: [
          {
            apiVersion: "batch/v1",
            kind: "CronJob",
            name: "adopt",
            uid: cj.metadata?.uid ?? "",
            controller: true,
          },
        ],
      },
      spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
    });
    const running = await env.run([newCronJobController({ clock })]);
    await waitFor(
      async () => (await cronjobs.get("adopt")).status?.active?.[0]?.name === name,
      10_000,
      "adopted",
    );
    assert.deepEqual(await jobsOf(cj), [name]);
    await cronjobs.delete("adopt");
    clock.advance(3_600_000);
    await running.stop();
    assert.deepEqual(await jobsOf(cj), [name]);
  });
});
