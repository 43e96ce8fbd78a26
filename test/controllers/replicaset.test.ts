import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { conflict, forbidden, type KubeObject } from "../../src/api/index.js";
import type { RestClient } from "../../src/client/index.js";
import { replicaSetController } from "../../src/controllers/replicaset/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, markPodRunning, startControllerEnv, startFakeKubelet } from "./harness.js";
import {
  eventReasons,
  InterceptingClient,
  livePods,
  namespace,
  PODS,
  podTemplate,
  RS,
  replicaSet,
} from "./workloads-support.js";

describe("replicaset controller", () => {
  let env: ControllerTestEnv;
  let api: RestClient;

  before(async () => {
    env = await startControllerEnv();
    // The test's own reads and writes (and the fake kubelet) must not eat the controllers' rate limit.
    api = env.cluster.client({ qps: 1000, burst: 1000 });
  });
  after(async () => {
    await env.close();
  });

  test("scales up in owned pods, reports status, scales down", async () => {
    await namespace(env, "rs-scale");
    const rsClient = api.resource(RS, "rs-scale");
    const pods = api.resource(PODS, "rs-scale");
    const kubelet = await startFakeKubelet(api);
    const running = await env.run([replicaSetController]);
    try {
      const rs = await rsClient.create(replicaSet("web", "rs-scale", 3, { app: "web" }));
      await waitFor(
        async () => {
          const s = (await rsClient.get("web")).status ?? {};
          return s.replicas === 3 && s.readyReplicas === 3 && s.availableReplicas === 3;
        },
        10_000,
        "3 ready replicas",
      );
      const live = await livePods(pods, "app=web");
      assert.equal(live.length, 3);
      for (const p of live) {
        const ref = p.metadata?.ownerReferences?.[0];
        assert.equal(ref?.uid, rs.metadata?.uid);
        assert.equal(ref?.controller, true);
        assert.equal(ref?.kind, "ReplicaSet");
        assert.match(p.metadata?.name ?? "", /^web-/);
      }
      const status = (await rsClient.get("web")).status;
      assert.equal(status.fullyLabeledReplicas, 3);
      assert.equal(status.observedGeneration, (await rsClient.get("web")).metadata?.generation);

      await rsClient.patch("web", "merge", { spec: { replicas: 1 } });
      await waitFor(async () => (await livePods(pods, "app=web")).length === 1, 10_000, "scale down to 1");
      await waitFor(async () => (await rsClient.get("web")).status?.replicas === 1, 10_000, "status 1");
      await running.ctx.recorder.flush();
      const events = await eventReasons(env, "rs-scale", "web");
      assert.equal(events.filter((e) => e.startsWith("SuccessfulCreate: Created pod: web-")).length, 3);
      assert.equal(events.filter((e) => e.startsWith("SuccessfulDelete: Deleted pod: web-")).length, 2);
    } finally {
      await running.stop();
      await kubelet.stop();
    }
  });

  test("adopts matching orphans and releases pods that stop matching", async () => {
    await namespace(env, "rs-adopt");
    const rsClient = api.resource(RS, "rs-adopt");
    const pods = api.resource(PODS, "rs-adopt");
    const orphan = await pods.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "orphan", namespace: "rs-adopt", labels: { app: "db" } },
      spec: podTemplate({}).spec,
    });
    const running = await env.run([replicaSetController]);
    try {
      const rs = await rsClient.create(replicaSet("db", "rs-adopt", 2, { app: "db" }));
      await waitFor(async () => (await rsClient.get("db")).status?.replicas === 2, 10_000, "2 replicas");
      const adopted = await pods.get("orphan");
      assert.equal(adopted.metadata?.uid, orphan.metadata?.uid);
      assert.equal(adopted.metadata?.ownerReferences?.[0]?.uid, rs.metadata?.uid);
      assert.equal((await livePods(pods, "app=db")).length, 2, "the orphan counts: only one pod created");

      await pods.patch("orphan", "merge", { metadata: { labels: { app: "debug" } } });
      await waitFor(
        async () =>
          (await pods.get("orphan")).metadata?.ownerReferences === undefined ||
          (await pods.get("orphan")).metadata?.ownerReferences?.length === 0,
        10_000,
        "release",
      );
      await waitFor(async () => (await livePods(pods, "app=db")).length === 2, 10_000, "replacement created");
      assert.equal((await livePods(pods, "app=debug")).length, 1, "the released pod is kept");
    } finally {
      await running.stop();
    }
  });

  test("scale-down deletes not-ready pods before ready ones", async () => {
    await namespace(env, "rs-rank");
    const rsClient = api.resource(RS, "rs-rank");
    const pods = api.resource(PODS, "rs-rank");
    const running = await env.run([replicaSetController]);
    try {
      await rsClient.create(replicaSet("api", "rs-rank", 4, { app: "api" }));
      await waitFor(async () => (await livePods(pods, "app=api")).length === 4, 10_000, "4 pods");
      const all = await livePods(pods, "app=api");
      const [readyA, readyB, notReady] = all;
      await markPodRunning(api, readyA as KubeObject, { ip: "10.1.0.1", ready: true });
      await markPodRunning(api, readyB as KubeObject, { ip: "10.1.0.2", ready: true });
      await markPodRunning(api, notReady as KubeObject, { ip: "10.1.0.3", ready: false });
      await waitFor(async () => (await rsClient.get("api")).status?.readyReplicas === 2, 10_000, "2 ready");
      await rsClient.patch("api", "merge", { spec: { replicas: 2 } });
      await waitFor(async () => (await livePods(pods, "app=api")).length === 2, 10_000, "2 pods left");
      const left = (await livePods(pods, "app=api")).map((p) => p.metadata?.name).sort();
      assert.deepEqual(left, [readyA?.metadata?.name, readyB?.metadata?.name].sort());
    } finally {
      await running.stop();
    }
  });

  test("failed creates report FailedCreate and ReplicaFailure, then recover", async () => {
    await namespace(env, "rs-fail");
    const refusing = new InterceptingClient(env.cluster.client().config);
    let refuse = true;
    let attempts = 0;
    refusing.intercept = (req) => {
      if (req.method === "POST" && req.path === "/api/v1/namespaces/rs-fail/pods") {
        attempts++;
        if (refuse) throw forbidden({ group: "", resource: "pods" }, "", "exceeded quota: compute");
      }
    };
    const rsClient = api.resource(RS, "rs-fail");
    const pods = api.resource(PODS, "rs-fail");
    const running = await runWith(refusing);
    try {
      await rsClient.create(replicaSet("q", "rs-fail", 4, { app: "q" }));
      await waitFor(
        async () =>
          (await rsClient.get("q")).status?.conditions?.some(
            (c: { type: string; reason: string }) =>
              c.type === "ReplicaFailure" && c.reason === "FailedCreate",
          ) === true,
        10_000,
        "ReplicaFailure condition",
      );
      await running.ctx.recorder.flush();
      const events = await eventReasons(env, "rs-fail", "q");
      assert.ok(
        events.some((e) => e.startsWith("FailedCreate: Error creating: pods is forbidden")),
        events.join("; "),
      );
      refuse = false;
      await waitFor(async () => (await rsClient.get("q")).status?.replicas === 4, 15_000, "recovered");
      assert.equal((await livePods(pods, "app=q")).length, 4);
      assert.equal((await rsClient.get("q")).status?.conditions, undefined, "ReplicaFailure cleared");
      assert.ok(attempts >= 5);
    } finally {
      await running.stop();
      refusing.close();
    }
  });

  test("conflicting writes are retried until the state converges", async () => {
    await namespace(env, "rs-conflict");
    const flaky = new InterceptingClient(env.cluster.client().config);
    let injected = 0;
    flaky.intercept = (req) => {
      // The first writes of status and of adoption patches fail as if someone else wrote first.
      if (
        (req.method === "PUT" || req.method === "PATCH") &&
        req.path.includes("/namespaces/rs-conflict/") &&
        injected < 4
      ) {
        injected++;
        throw conflict({ group: "apps", resource: "replicasets" }, "x");
      }
    };
    const rsClient = api.resource(RS, "rs-conflict");
    const pods = api.resource(PODS, "rs-conflict");
    await pods.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "stray", namespace: "rs-conflict", labels: { app: "c" } },
      spec: podTemplate({}).spec,
    });
    const contended = await runWith(flaky);
    try {
      await rsClient.create(replicaSet("c", "rs-conflict", 3, { app: "c" }));
      await waitFor(
        async () => (await rsClient.get("c")).status?.replicas === 3,
        15_000,
        "status after conflicts",
      );
      assert.ok(injected >= 4, `conflicts injected: ${injected}`);
      assert.equal((await livePods(pods, "app=c")).length, 3);
      assert.ok((await pods.get("stray")).metadata?.ownerReferences?.[0]?.controller);
    } finally {
      await contended.stop();
      flaky.close();
    }
  });

  test("an owner deleted in mid-reconcile stops the work without breaking the controller", async () => {
    await namespace(env, "rs-gone");
    const hooked = new InterceptingClient(env.cluster.client().config);
    const rsClient = api.resource(RS, "rs-gone");
    const pods = api.resource(PODS, "rs-gone");
    let deleted = false;
    hooked.intercept = async (req) => {
      if (!deleted && req.method === "POST" && req.path === "/api/v1/namespaces/rs-gone/pods") {
        deleted = true;
        await rsClient.delete("doomed");
      }
    };
    const running = await runWith(hooked);
    try {
      await rsClient.create(replicaSet("doomed", "rs-gone", 5, { app: "doomed" }));
      await waitFor(() => deleted, 10_000, "the owner deleted during the first create");
      await rsClient.create(replicaSet("next", "rs-gone", 2, { app: "next" }));
      await waitFor(
        async () => (await rsClient.get("next")).status?.replicas === 2,
        10_000,
        "next reconciled",
      );
      // The batch in flight when the owner vanished may finish (the garbage collector's business),
      // but no sync for the deleted owner creates anything: the count stays within the one sync.
      const orphaned = (await livePods(pods, "app=doomed")).length;
      assert.ok(orphaned <= 5, `pods of the deleted owner: ${orphaned}`);
      await rsClient.patch("next", "merge", { spec: { replicas: 3 } });
      await waitFor(async () => (await rsClient.get("next")).status?.replicas === 3, 10_000, "next rescaled");
      assert.equal((await livePods(pods, "app=doomed")).length, orphaned);
    } finally {
      await running.stop();
      hooked.close();
    }
  });

  test("a controller restarted in mid-reconcile converges without double-creating", async () => {
    await namespace(env, "rs-restart");
    const hooked = new InterceptingClient(env.cluster.client().config);
    const rsClient = api.resource(RS, "rs-restart");
    const pods = api.resource(PODS, "rs-restart");
    let creates = 0;
    let release: () => void = () => {};
    const stalled = new Promise<void>((r) => {
      release = r;
    });
    hooked.intercept = async (req) => {
      // After the first batches, creates hang as if the controller process froze mid-sync.
      if (req.method === "POST" && req.path === "/api/v1/namespaces/rs-restart/pods" && ++creates > 3)
        await stalled;
    };
    const first = await runWith(hooked);
    await rsClient.create(replicaSet("r", "rs-restart", 8, { app: "r" }));
    await waitFor(() => creates > 3, 10_000, "first controller stalls");
    const stopping = first.stop();
    const second = await env.run([replicaSetController]);
    try {
      await waitFor(async () => (await rsClient.get("r")).status?.replicas === 8, 15_000, "8 replicas");
      release();
      await stopping;
      hooked.close();
      // The stalled creates of the old controller may land late; the new one trims back to 8.
      await waitFor(async () => (await livePods(pods, "app=r")).length === 8, 10_000, "exactly 8 pods");
      await waitFor(async () => (await rsClient.get("r")).status?.replicas === 8, 10_000, "status 8");
    } finally {
      release();
      await second.stop();
    }
  });

  async function runWith(client: InterceptingClient) {
    const { runControllers } = await import("./harness.js");
    return runControllers(client, [replicaSetController]);
  }
});
