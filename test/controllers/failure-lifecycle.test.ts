// Failure paths of the serviceaccount, cronjob and node lifecycle controllers that their own test
// files leave out: writes that conflict or find the object already made by someone else, and the
// owner (namespace, cronjob, node) deleted while the controller is acting on it. Restarts in
// mid-reconcile are covered in serviceaccount.test.ts, cronjob.test.ts and nodelifecycle.test.ts.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { conflict, isStatusError, type KubeObject } from "../../src/api/index.js";
import { FakeClock, LEASES, microTime, type ResourceClient } from "../../src/client/index.js";
import { newCronJobController } from "../../src/controllers/cronjob/index.js";
import { namespaceController } from "../../src/controllers/namespace/index.js";
import { newNodeLifecycleController } from "../../src/controllers/nodelifecycle/index.js";
import { serviceAccountController } from "../../src/controllers/serviceaccount/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, runControllers, startControllerEnv } from "./harness.js";
import { NAMESPACES, SERVICEACCOUNTS } from "./lifecycle-fixtures.js";
import { InterceptingClient } from "./workloads-support.js";

const CRONJOBS = { group: "batch", version: "v1", resource: "cronjobs" };
const JOBS = { group: "batch", version: "v1", resource: "jobs" };
const NODES = { group: "", version: "v1", resource: "nodes" };
const MINUTE = 60_000;
const GRACE = 40_000;
const PERIOD = 5_000;

describe("controller failure paths: serviceaccount, cronjob, node lifecycle", () => {
  let env: ControllerTestEnv;
  const clients: InterceptingClient[] = [];

  before(async () => {
    env = await startControllerEnv();
  });
  afterEach(async () => {
    await env.stopAll();
    for (const c of clients.splice(0)) c.close();
  });
  after(async () => {
    await env.close();
  });

  const intercepting = () => {
    const c = new InterceptingClient(env.cluster.client().config);
    clients.push(c);
    return c;
  };
  const exists = async (get: () => Promise<unknown>) => {
    try {
      await get();
      return true;
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return false;
      throw err;
    }
  };
  const createNs = (name: string) =>
    env.client.resource(NAMESPACES).create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  const defaultSA = (ns: string) => env.client.resource(SERVICEACCOUNTS, ns);

  test("serviceaccount: a default account someone else made first (409) is fine; later deletions still heal", async () => {
    const hooked = intercepting();
    let raced = false;
    hooked.intercept = async (req) => {
      if (!raced && req.method === "POST" && req.path === "/api/v1/namespaces/sa-race/serviceaccounts") {
        raced = true;
        await defaultSA("sa-race").create({
          apiVersion: "v1",
          kind: "ServiceAccount",
          metadata: { name: "default" },
        });
      }
    };
    const running = await runControllers(hooked, [serviceAccountController]);
    try {
      await createNs("sa-race");
      await waitFor(() => raced, 10_000, "the racing create");
      const first = await defaultSA("sa-race").get("default");
      await defaultSA("sa-race").delete("default");
      await waitFor(
        async () => {
          try {
            return (await defaultSA("sa-race").get("default")).metadata?.uid !== first.metadata?.uid;
          } catch (err) {
            if (isStatusError(err) && err.code === 404) return false;
            throw err;
          }
        },
        10_000,
        "re-created after deletion",
      );
    } finally {
      await running.stop();
    }
  });

  test("serviceaccount: a namespace deleted while its account is created is finalized, not refilled", async () => {
    const hooked = intercepting();
    let deleted = false;
    hooked.intercept = async (req) => {
      if (!deleted && req.method === "POST" && req.path === "/api/v1/namespaces/sa-gone/serviceaccounts") {
        deleted = true;
        await env.client.resource(NAMESPACES).delete("sa-gone");
      }
    };
    const running = await runControllers(hooked, [serviceAccountController]);
    await env.run([namespaceController]);
    try {
      await createNs("sa-gone");
      await waitFor(() => deleted, 10_000, "namespace deleted during the create");
      await waitFor(
        async () => !(await exists(() => env.client.resource(NAMESPACES).get("sa-gone"))),
        15_000,
        "namespace gone",
      );
      // The controller goes on with other namespaces.
      await createNs("sa-after");
      await waitFor(
        async () => exists(() => defaultSA("sa-after").get("default")),
        10_000,
        "sa-after default",
      );
    } finally {
      await running.stop();
    }
  });

  const cronJob = (name: string, ns: string): KubeObject => ({
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: ns },
    spec: {
      schedule: "* * * * *",
      jobTemplate: {
        spec: {
          template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } },
        },
      },
    },
  });
  const toNextMinute = (clock: FakeClock) =>
    clock.advance(Math.floor(clock.now() / MINUTE) * MINUTE + MINUTE + 1000 - clock.now());
  const jobsOf = async (ns: string, cj: KubeObject) =>
    (await env.client.resource(JOBS, ns).list()).items
      .filter((j) => j.metadata?.ownerReferences?.[0]?.uid === cj.metadata?.uid)
      .map((j) => String(j.metadata?.name));

  test("cronjob: conflicting status writes are retried without a second job for the minute", async () => {
    await createNs("cj-conflict");
    const flaky = intercepting();
    let injected = 0;
    flaky.intercept = (req) => {
      if (
        req.method === "PUT" &&
        req.path.startsWith("/apis/batch/v1/namespaces/cj-conflict/cronjobs/") &&
        injected < 2
      ) {
        injected++;
        throw conflict({ group: "batch", resource: "cronjobs" }, "every");
      }
    };
    const clock = new FakeClock(Date.now());
    const running = await runControllers(flaky, [newCronJobController({ clock })]);
    try {
      const cj = await env.client.resource(CRONJOBS, "cj-conflict").create(cronJob("every", "cj-conflict"));
      toNextMinute(clock);
      await waitFor(
        async () =>
          (await env.client.resource(CRONJOBS, "cj-conflict").get("every")).status?.active?.length === 1,
        15_000,
        "status after conflicts",
      );
      assert.equal(injected, 2);
      assert.equal((await jobsOf("cj-conflict", cj)).length, 1);
    } finally {
      await running.stop();
    }
  });

  test("cronjob: one deleted while its job is created makes no more jobs; the others go on", async () => {
    await createNs("cj-gone");
    const cronjobs = env.client.resource(CRONJOBS, "cj-gone");
    const hooked = intercepting();
    let deleted = false;
    hooked.intercept = async (req) => {
      if (
        !deleted &&
        req.method === "POST" &&
        req.path === "/apis/batch/v1/namespaces/cj-gone/jobs" &&
        (req.body as KubeObject)?.metadata?.ownerReferences?.[0]?.name === "doomed"
      ) {
        deleted = true;
        await cronjobs.delete("doomed");
      }
    };
    const clock = new FakeClock(Date.now());
    const running = await runControllers(hooked, [newCronJobController({ clock })]);
    try {
      const doomed = await cronjobs.create(cronJob("doomed", "cj-gone"));
      toNextMinute(clock);
      await waitFor(() => deleted, 10_000, "cronjob deleted during its job's create");
      // "other" was created (on the real clock) before the fake clock's current minute: it starts
      // a job at once, and one more for each minute the clock moves on.
      const other = await cronjobs.create(cronJob("other", "cj-gone"));
      await waitFor(
        async () => (await cronjobs.get("other")).status?.active?.length === 1,
        10_000,
        "other's job",
      );
      // The create in flight when the cronjob vanished may have landed (the garbage collector's
      // business); no later minute makes another.
      const made = (await jobsOf("cj-gone", doomed)).length;
      assert.ok(made <= 1, `jobs of the deleted cronjob: ${made}`);
      const before = (await jobsOf("cj-gone", other)).length;
      toNextMinute(clock);
      await waitFor(
        async () => (await jobsOf("cj-gone", other)).length === before + 1,
        10_000,
        "other's next job",
      );
      assert.equal((await jobsOf("cj-gone", doomed)).length, made);
    } finally {
      await running.stop();
    }
  });

  const nodes = () => env.client.resource(NODES);
  const leases = (): ResourceClient => env.client.resource(LEASES, "kube-node-lease");
  async function makeNode(name: string, clock: FakeClock): Promise<void> {
    const at = new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    await nodes().create({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name },
      status: {
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "KubeletReady",
            lastHeartbeatTime: at,
            lastTransitionTime: at,
          },
        ],
      },
    });
    try {
      await leases().create({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace: "kube-node-lease" },
        spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(clock.now()) },
      });
    } catch (err) {
      if (!(isStatusError(err) && err.code === 409)) throw err;
      await leases().patch(name, "merge", { spec: { renewTime: microTime(clock.now()) } });
    }
  }
  const ready = (node: KubeObject) =>
    (node.status?.conditions ?? []).find((c: KubeObject) => c.type === "Ready")?.status;
  const taintKeys = (node: KubeObject) =>
    (node.spec?.taints ?? []).map((t: KubeObject) => `${t.key}:${t.effect}`).sort();

  async function startLifecycle(client: InterceptingClient, clock: FakeClock) {
    let passes = 0;
    const running = await runControllers(client, [
      newNodeLifecycleController({
        clock,
        gracePeriodMs: GRACE,
        monitorPeriodMs: PERIOD,
        onMonitorPass: () => passes++,
      }),
    ]);
    await waitFor(() => passes > 0, 10_000, "first monitor pass");
    const step = async (n = 1) => {
      for (let i = 0; i < n; i++) {
        const seen = passes;
        clock.advance(PERIOD);
        await waitFor(() => passes > seen, 10_000, "monitor pass");
      }
    };
    return { running, step };
  }

  test("node lifecycle: conflicting node writes are retried on the next passes", async () => {
    const clock = new FakeClock(Date.now());
    await makeNode("contended", clock);
    const flaky = intercepting();
    let injected = 0;
    flaky.intercept = (req) => {
      if (req.method === "PUT" && req.path.startsWith("/api/v1/nodes/contended") && injected < 2) {
        injected++;
        throw conflict({ group: "", resource: "nodes" }, "contended");
      }
    };
    const { running, step } = await startLifecycle(flaky, clock);
    try {
      await step(GRACE / PERIOD + 1);
      await waitFor(
        async () => {
          await step();
          const node = await nodes().get("contended");
          return (
            ready(node) === "Unknown" && taintKeys(node).includes("node.kubernetes.io/unreachable:NoExecute")
          );
        },
        15_000,
        "Unknown and tainted despite conflicts",
      );
      assert.equal(injected, 2);
    } finally {
      await running.stop();
      await nodes().delete("contended");
    }
  });

  test("node lifecycle: a node deleted in mid-pass is dropped; re-created, it gets a fresh grace period", async () => {
    const clock = new FakeClock(Date.now());
    await makeNode("phoenix", clock);
    await makeNode("bystander", clock);
    const hooked = intercepting();
    let deleted = false;
    hooked.intercept = async (req) => {
      if (!deleted && req.method === "PUT" && req.path === "/api/v1/nodes/phoenix/status") {
        deleted = true;
        await nodes().delete("phoenix");
      }
    };
    const { running, step } = await startLifecycle(hooked, clock);
    try {
      await step(GRACE / PERIOD + 1);
      await waitFor(() => deleted, 10_000, "phoenix deleted as it was marked Unknown");
      await waitFor(
        async () => {
          await step();
          return ready(await nodes().get("bystander")) === "Unknown";
        },
        15_000,
        "the other silent node still handled",
      );
      await waitFor(async () => !(await exists(() => nodes().get("phoenix"))), 10_000, "phoenix gone");
      await makeNode("phoenix", clock);
      await step(GRACE / PERIOD - 1);
      const back = await nodes().get("phoenix");
      assert.equal(ready(back), "True", "a re-created node is not judged by its predecessor's silence");
      assert.deepEqual(taintKeys(back), []);
    } finally {
      await running.stop();
      for (const n of ["phoenix", "bystander"])
        await nodes()
          .delete(n)
          .catch(() => {});
    }
  });
});
