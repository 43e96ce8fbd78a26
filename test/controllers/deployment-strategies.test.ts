import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { type RestClient, SharedInformerFactory } from "../../src/client/index.js";
import { deploymentController } from "../../src/controllers/deployment/index.js";
import { replicaSetController } from "../../src/controllers/replicaset/index.js";
import { waitFor } from "../support/require.js";
import {
  type ControllerTestEnv,
  type FakeKubelet,
  type RunningControllers,
  startControllerEnv,
  startFakeKubelet,
} from "./harness.js";
import {
  DEPLOY,
  deployment,
  livePods,
  namespace,
  PODS,
  RS,
  replicaSetsOf,
  rolloutVerdict,
  updateImage,
} from "./workloads-support.js";

const REVISION = "deployment.kubernetes.io/revision";
const NEVER_READY = "never:ready";

function condition(d: KubeObject, type: string): { status?: string; reason?: string } | undefined {
  return (d.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
}

describe("deployment controller: strategies, pause, deadlines, restarts", () => {
  let env: ControllerTestEnv;
  let api: RestClient;
  let kubelet: FakeKubelet;
  let controller: RunningControllers;
  const ns = "deploy-strategies";
  const deploys = () => api.resource(DEPLOY, ns);
  const rss = () => api.resource(RS, ns);
  const pods = () => api.resource(PODS, ns);
  const rolledOut = async (name: string) => rolloutVerdict(await deploys().get(name)).done;
  const setImage = (name: string, image: string) => updateImage(deploys(), name, image);

  before(async () => {
    env = await startControllerEnv();
    // The test's own reads and writes (and the fake kubelet) must not eat the controllers' rate limit.
    api = env.cluster.client({ qps: 1000, burst: 1000 });
    await namespace(env, ns);
    kubelet = await startFakeKubelet(api, {
      ready: (pod) => pod.spec?.containers?.[0]?.image !== NEVER_READY,
    });
    await env.run([replicaSetController]);
    controller = await env.run([deploymentController]);
  });
  after(async () => {
    await kubelet.stop();
    await env.close();
  });

  test("Recreate removes every old pod before the new ReplicaSet gets any", async () => {
    const d = await deploys().create(deployment("batch", ns, 3, { strategy: { type: "Recreate" } }));
    await waitFor(() => rolledOut("batch"), 15_000, "first rollout");
    const informers = new SharedInformerFactory(api);
    const podInf = informers.forResource(PODS, { namespace: ns, labelSelector: "app=batch" });
    let mixed = false;
    const check = () => {
      const images = new Set(podInf.lister.list().map((p) => p.spec?.containers?.[0]?.image));
      if (images.size > 1) mixed = true;
    };
    podInf.addEventHandler({ onAdd: check, onUpdate: check, onDelete: check });
    informers.start();
    await informers.waitForCacheSync();
    try {
      await setImage("batch", "nginx:1.26");
      await waitFor(
        async () => {
          const cur = await deploys().get("batch");
          return cur.metadata?.annotations?.[REVISION] === "2" && rolloutVerdict(cur).done;
        },
        15_000,
        "recreate rollout",
      );
    } finally {
      await informers.shutdown();
    }
    assert.equal(mixed, false, "old and new pods never ran together");
    const [v1, v2] = await replicaSetsOf(rss(), d);
    assert.equal(v1?.spec.replicas, 0);
    assert.equal(v2?.spec.replicas, 3);
    const live = await livePods(pods(), "app=batch");
    assert.equal(live.length, 3);
    assert.ok(live.every((p) => p.spec.containers[0].image === "nginx:1.26"));
  });

  test("a paused deployment scales but does not roll out until resumed", async () => {
    const d = await deploys().create(deployment("paused", ns, 2));
    await waitFor(() => rolledOut("paused"), 15_000, "first rollout");
    await deploys().patch("paused", "merge", { spec: { paused: true } });
    await waitFor(
      async () => condition(await deploys().get("paused"), "Progressing")?.reason === "DeploymentPaused",
      10_000,
      "DeploymentPaused",
    );
    await setImage("paused", "nginx:1.26");
    await deploys().patch("paused", "merge", { spec: { replicas: 3 } });
    await waitFor(
      async () => {
        const cur = await deploys().get("paused");
        return cur.status?.observedGeneration === cur.metadata?.generation && cur.status?.replicas === 3;
      },
      10_000,
      "paused deployment scaled",
    );
    const sets = await replicaSetsOf(rss(), d);
    assert.equal(sets.length, 1, "no new ReplicaSet while paused");
    assert.equal(sets[0]?.spec.template.spec.containers[0].image, "nginx:1.25");
    assert.equal(sets[0]?.spec.replicas, 3);
    assert.equal(rolloutVerdict(await deploys().get("paused")).done, false);

    await deploys().patch("paused", "merge", { spec: { paused: false } });
    await waitFor(
      async () => {
        const cur = await deploys().get("paused");
        return cur.metadata?.annotations?.[REVISION] === "2" && rolloutVerdict(cur).done;
      },
      15_000,
      "rollout after resume",
    );
    const cur = await deploys().get("paused");
    assert.equal(condition(cur, "Progressing")?.reason, "NewReplicaSetAvailable");
    const live = await livePods(pods(), "app=paused");
    assert.equal(live.length, 3);
    assert.ok(live.every((p) => p.spec.containers[0].image === "nginx:1.26"));
  });

  test("pods that never become ready exceed the progress deadline; a fixed template recovers", async () => {
    await deploys().create(deployment("stuck", ns, 1, { image: NEVER_READY, progressDeadlineSeconds: 1 }));
    // Under load the deadline may pass before the pod even exists; its creation is progress and
    // restarts the clock. Once the pod exists and stays unready, the verdict is final.
    let cur: KubeObject = {};
    await waitFor(
      async () => {
        cur = await deploys().get("stuck");
        return (
          cur.status?.updatedReplicas === 1 &&
          condition(cur, "Progressing")?.reason === "ProgressDeadlineExceeded"
        );
      },
      10_000,
      "ProgressDeadlineExceeded",
    );
    assert.equal(condition(cur, "Progressing")?.status, "False");
    assert.equal(condition(cur, "Available")?.reason, "MinimumReplicasUnavailable");
    assert.equal(condition(cur, "Available")?.status, "False");
    assert.equal(cur.status.unavailableReplicas, 1);
    const verdict = rolloutVerdict(cur);
    assert.equal(verdict.failed, true);
    assert.match(verdict.message, /exceeded its progress deadline/);

    await setImage("stuck", "nginx:1.25");
    await waitFor(() => rolledOut("stuck"), 15_000, "recovered rollout");
    const fixed = await deploys().get("stuck");
    assert.equal(condition(fixed, "Progressing")?.reason, "NewReplicaSetAvailable");
    assert.equal(condition(fixed, "Available")?.status, "True");
  });

  test("scaling in mid-rollout spreads the new size over both ReplicaSets in proportion", async () => {
    const strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } };
    const d = await deploys().create(deployment("prop", ns, 4, { strategy }));
    await waitFor(() => rolledOut("prop"), 15_000, "first rollout");
    // The new pods never become ready, so the rollout stops at old 3 + new 2 (= replicas + maxSurge).
    await setImage("prop", NEVER_READY);
    const sizes = async () => (await replicaSetsOf(rss(), d)).map((rs) => rs.spec.replicas);
    await waitFor(async () => JSON.stringify(await sizes()) === "[3,2]", 10_000, "stuck rollout 3+2");
    await deploys().patch("prop", "merge", { spec: { replicas: 8 } });
    // 8 + maxSurge 1 = 9 replicas allowed, shared 3:2 as round(3*9/5)=5 and round(2*9/5)=4.
    await waitFor(async () => JSON.stringify(await sizes()) === "[5,4]", 10_000, "proportional 5+4");
    const sets = await replicaSetsOf(rss(), d);
    for (const rs of sets) {
      assert.equal(rs.metadata?.annotations?.["deployment.kubernetes.io/desired-replicas"], "8");
      assert.equal(rs.metadata?.annotations?.["deployment.kubernetes.io/max-replicas"], "9");
    }
  });

  test("a deployment controller restarted in mid-rollout converges", async () => {
    const strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    const d = await deploys().create(deployment("restart", ns, 4, { strategy }));
    await waitFor(() => rolledOut("restart"), 15_000, "first rollout");
    await setImage("restart", "nginx:1.26");
    await waitFor(async () => (await replicaSetsOf(rss(), d)).length === 2, 10_000, "new ReplicaSet created");
    await controller.stop();
    controller = await env.run([deploymentController]);
    await waitFor(
      async () => {
        const cur = await deploys().get("restart");
        return cur.metadata?.annotations?.[REVISION] === "2" && rolloutVerdict(cur).done;
      },
      15_000,
      "rollout after restart",
    );
    const sets = await replicaSetsOf(rss(), d);
    assert.equal(
      sets.length,
      2,
      "the restarted controller found the new ReplicaSet rather than making another",
    );
    assert.deepEqual(
      sets.map((rs) => rs.spec.replicas),
      [0, 4],
    );
    assert.equal((await livePods(pods(), "app=restart")).length, 4);
  });
});
