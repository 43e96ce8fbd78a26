import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { type RestClient, SharedInformerFactory } from "../../src/client/index.js";
import { deploymentController } from "../../src/controllers/deployment/index.js";
import { replicaSetController } from "../../src/controllers/replicaset/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, type FakeKubelet, startControllerEnv, startFakeKubelet } from "./harness.js";
import {
  DEPLOY,
  deployment,
  eventReasons,
  livePods,
  namespace,
  PODS,
  RS,
  replicaSetsOf,
  rolloutVerdict,
  updateImage,
} from "./workloads-support.js";

const REVISION = "deployment.kubernetes.io/revision";

function condition(d: KubeObject, type: string): { status?: string; reason?: string } | undefined {
  return (d.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
}

describe("deployment controller: rolling updates", () => {
  let env: ControllerTestEnv;
  let api: RestClient;
  let kubelet: FakeKubelet;
  const ns = "deploy-rolling";
  const deploys = () => api.resource(DEPLOY, ns);
  const rss = () => api.resource(RS, ns);
  const pods = () => api.resource(PODS, ns);
  const rolledOut = async (name: string) => rolloutVerdict(await deploys().get(name)).done;

  before(async () => {
    env = await startControllerEnv();
    // The test's own reads and writes (and the fake kubelet) must not eat the controllers' rate limit.
    api = env.cluster.client({ qps: 1000, burst: 1000 });
    await namespace(env, ns);
    kubelet = await startFakeKubelet(api);
    await env.run([replicaSetController, deploymentController]);
  });
  after(async () => {
    await kubelet.stop();
    await env.close();
  });

  test("a new deployment gets a hashed ReplicaSet, ready pods and complete rollout conditions", async () => {
    const d = await deploys().create(deployment("web", ns, 3));
    await waitFor(() => rolledOut("web"), 15_000, "rollout complete");
    const live = await deploys().get("web");
    assert.equal(live.status.replicas, 3);
    assert.equal(live.status.updatedReplicas, 3);
    assert.equal(live.status.readyReplicas, 3);
    assert.equal(live.status.availableReplicas, 3);
    assert.equal(live.status.unavailableReplicas ?? 0, 0);
    assert.equal(live.status.observedGeneration, live.metadata?.generation);
    assert.equal(condition(live, "Available")?.reason, "MinimumReplicasAvailable");
    assert.equal(condition(live, "Progressing")?.reason, "NewReplicaSetAvailable");
    assert.equal(condition(live, "Progressing")?.status, "True");
    assert.equal(live.metadata?.annotations?.[REVISION], "1");

    const [rs] = await replicaSetsOf(rss(), d);
    const hash = rs?.metadata?.labels?.["pod-template-hash"];
    assert.ok(hash && /^[bcdfghjklmnpqrstvwxz2456789]+$/.test(hash), `hash ${hash}`);
    assert.equal(rs?.metadata?.name, `web-${hash}`);
    assert.equal(rs?.spec.selector.matchLabels["pod-template-hash"], hash);
    assert.equal(rs?.spec.template.metadata.labels["pod-template-hash"], hash);
    assert.equal(rs?.metadata?.annotations?.[REVISION], "1");
    assert.equal(rs?.metadata?.annotations?.["deployment.kubernetes.io/desired-replicas"], "3");
    assert.equal(rs?.metadata?.annotations?.["deployment.kubernetes.io/max-replicas"], "4");
    for (const p of await livePods(pods(), "app=web"))
      assert.equal(p.metadata?.labels?.["pod-template-hash"], hash);
    await waitFor(
      async () =>
        (await eventReasons(env, ns, "web")).includes(
          `ScalingReplicaSet: Scaled up replica set web-${hash} from 0 to 3`,
        ),
      5000,
      "ScalingReplicaSet event",
    );
  });

  test("an image change rolls within maxSurge/maxUnavailable, and undo rolls back to the old template", async () => {
    const strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } };
    const d = await deploys().create(deployment("api", ns, 4, { strategy }));
    await waitFor(() => rolledOut("api"), 15_000, "first rollout");

    // Watch every pod and ReplicaSet change of the rollout and check the bounds after each one.
    const informers = new SharedInformerFactory(api);
    const podInf = informers.forResource(PODS, { namespace: ns, labelSelector: "app=api" });
    const rsInf = informers.forResource(RS, { namespace: ns, labelSelector: "app=api" });
    let maxPods = 0;
    let minReady = Number.POSITIVE_INFINITY;
    let maxSpec = 0;
    // The initial list arrives one object at a time: only check once the cache holds all of it.
    let armed = false;
    const checkPods = () => {
      if (!armed) return;
      const live = podInf.lister.list().filter((p) => !p.metadata?.deletionTimestamp);
      maxPods = Math.max(maxPods, live.length);
      minReady = Math.min(
        minReady,
        live.filter((p) =>
          p.status?.conditions?.some(
            (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
          ),
        ).length,
      );
    };
    const checkSpecs = () => {
      if (!armed) return;
      maxSpec = Math.max(
        maxSpec,
        rsInf.lister.list().reduce((n, rs) => n + Number(rs.spec?.replicas ?? 0), 0),
      );
    };
    podInf.addEventHandler({ onAdd: checkPods, onUpdate: checkPods, onDelete: checkPods });
    rsInf.addEventHandler({ onAdd: checkSpecs, onUpdate: checkSpecs, onDelete: checkSpecs });
    informers.start();
    await informers.waitForCacheSync();
    armed = true;
    checkPods();
    checkSpecs();
    try {
      await updateImage(deploys(), "api", "nginx:1.26");
      await waitFor(
        async () => {
          const cur = await deploys().get("api");
          return cur.metadata?.annotations?.[REVISION] === "2" && rolloutVerdict(cur).done;
        },
        20_000,
        "second rollout",
      );
      await waitFor(async () => (await livePods(pods(), "app=api")).length === 4, 10_000, "old pods gone");
    } finally {
      await informers.shutdown();
    }
    assert.ok(maxPods <= 5, `at most replicas+maxSurge pods, saw ${maxPods}`);
    assert.ok(maxSpec <= 5, `at most replicas+maxSurge desired, saw ${maxSpec}`);
    assert.ok(minReady >= 3, `at least replicas-maxUnavailable ready, saw ${minReady}`);

    const [v1, v2] = await replicaSetsOf(rss(), d);
    assert.equal(v1?.spec.replicas, 0);
    assert.equal(v2?.spec.replicas, 4);
    assert.equal(v2?.spec.template.spec.containers[0].image, "nginx:1.26");
    for (const p of await livePods(pods(), "app=api")) assert.equal(p.spec.containers[0].image, "nginx:1.26");

    // kubectl rollout undo: the deployment's template becomes the previous ReplicaSet's, minus its hash label.
    const old = structuredClone(v1?.spec.template);
    delete old.metadata.labels["pod-template-hash"];
    await deploys().patch("api", "merge", {
      spec: { template: { spec: { containers: old.spec.containers } } },
    });
    await waitFor(
      async () => {
        const cur = await deploys().get("api");
        return cur.metadata?.annotations?.[REVISION] === "3" && rolloutVerdict(cur).done;
      },
      20_000,
      "rollback complete",
    );
    const after = await replicaSetsOf(rss(), d);
    assert.equal(after.length, 2, "the old ReplicaSet is reused, not recreated");
    const [prev, current] = after;
    assert.equal(current?.metadata?.name, v1?.metadata?.name);
    assert.equal(current?.metadata?.annotations?.[REVISION], "3");
    assert.equal(current?.metadata?.annotations?.["deployment.kubernetes.io/revision-history"], "1");
    assert.equal(current?.spec.replicas, 4);
    assert.equal(prev?.metadata?.name, v2?.metadata?.name);
    assert.equal(prev?.spec.replicas, 0);
    await waitFor(
      async () => {
        const live = await livePods(pods(), "app=api");
        return live.length === 4 && live.every((p) => p.spec.containers[0].image === "nginx:1.25");
      },
      10_000,
      "pods back on the old image",
    );
  });

  test("revisionHistoryLimit removes the oldest scaled-down ReplicaSets", async () => {
    const d = await deploys().create(deployment("hist", ns, 1, { revisionHistoryLimit: 1 }));
    await waitFor(() => rolledOut("hist"), 15_000, "rollout 1");
    for (const tag of ["2", "3", "4"]) {
      await updateImage(deploys(), "hist", `nginx:1.${tag}`);
      await waitFor(
        async () => {
          const cur = await deploys().get("hist");
          return cur.metadata?.annotations?.[REVISION] === tag && rolloutVerdict(cur).done;
        },
        15_000,
        `rollout ${tag}`,
      );
    }
    await waitFor(async () => (await replicaSetsOf(rss(), d)).length === 2, 10_000, "history trimmed to 1");
    const revisions = (await replicaSetsOf(rss(), d)).map((rs) => rs.metadata?.annotations?.[REVISION]);
    assert.deepEqual(revisions, ["3", "4"]);
  });

  test("scaling a deployment resizes its ReplicaSet without a new revision", async () => {
    const d = await deploys().create(deployment("sz", ns, 2));
    await waitFor(() => rolledOut("sz"), 15_000, "rollout");
    await deploys().patch("sz", "merge", { spec: { replicas: 5 } });
    await waitFor(
      async () => {
        const cur = await deploys().get("sz");
        return cur.status?.availableReplicas === 5 && rolloutVerdict(cur).done;
      },
      15_000,
      "scaled to 5",
    );
    const sets = await replicaSetsOf(rss(), d);
    assert.equal(sets.length, 1);
    assert.equal(sets[0]?.spec.replicas, 5);
    assert.equal(sets[0]?.metadata?.annotations?.["deployment.kubernetes.io/desired-replicas"], "5");
    assert.equal((await deploys().get("sz")).metadata?.annotations?.[REVISION], "1");
  });
});
