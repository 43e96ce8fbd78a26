// The deployment controller's failure paths besides restarts (deployment-strategies.test.ts has
// the restart in mid-rollout): writes that conflict with someone else's, and a deployment deleted
// while the controller is creating its ReplicaSet.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { conflict } from "../../src/api/index.js";
import type { RestClient } from "../../src/client/index.js";
import { deploymentController } from "../../src/controllers/deployment/index.js";
import { garbageCollectorController } from "../../src/controllers/garbagecollector/index.js";
import { replicaSetController } from "../../src/controllers/replicaset/index.js";
import { waitFor } from "../support/require.js";
import {
  type ControllerTestEnv,
  type FakeKubelet,
  runControllers,
  startControllerEnv,
  startFakeKubelet,
} from "./harness.js";
import {
  DEPLOY,
  deployment,
  InterceptingClient,
  livePods,
  namespace,
  PODS,
  RS,
  replicaSetsOf,
  rolloutVerdict,
  updateImage,
} from "./workloads-support.js";

const REVISION = "deployment.kubernetes.io/revision";

describe("deployment controller failure paths", () => {
  let env: ControllerTestEnv;
  let api: RestClient;
  let kubelet: FakeKubelet;
  const clients: InterceptingClient[] = [];

  before(async () => {
    env = await startControllerEnv();
    api = env.cluster.client({ qps: 1000, burst: 1000 });
    kubelet = await startFakeKubelet(api);
  });
  afterEach(async () => {
    await env.stopAll();
    for (const c of clients.splice(0)) c.close();
  });
  after(async () => {
    await kubelet.stop();
    await env.close();
  });

  test("conflicting writes (deployment, its status, its ReplicaSets) are retried until the rollout lands", async () => {
    const ns = "dep-conflict";
    await namespace(env, ns);
    const flaky = new InterceptingClient(env.cluster.client().config);
    clients.push(flaky);
    const seen = { deployments: 0, replicasets: 0 };
    const injected = { deployments: 0, replicasets: 0 };
    flaky.intercept = (req) => {
      if ((req.method !== "PUT" && req.method !== "PATCH") || !req.path.includes(`/namespaces/${ns}/`))
        return;
      const kind = req.path.includes("/deployments/")
        ? "deployments"
        : req.path.includes("/replicasets/")
          ? "replicasets"
          : undefined;
      if (kind === undefined) return;
      // Every other write of each kind, three times, fails as if another writer got there first.
      if (++seen[kind] % 2 === 1 && injected[kind] < 3) {
        injected[kind]++;
        throw conflict({ group: "apps", resource: kind }, "x");
      }
    };
    const running = await runControllers(flaky, [deploymentController, replicaSetController]);
    try {
      const deploys = api.resource(DEPLOY, ns);
      const d = await deploys.create(deployment("web", ns, 3));
      await waitFor(async () => rolloutVerdict(await deploys.get("web")).done, 20_000, "first rollout");
      await updateImage(deploys, "web", "nginx:1.26");
      await waitFor(
        async () => {
          const cur = await deploys.get("web");
          return cur.metadata?.annotations?.[REVISION] === "2" && rolloutVerdict(cur).done;
        },
        20_000,
        "second rollout through conflicts",
      );
      assert.ok(injected.deployments >= 2 && injected.replicasets >= 2, JSON.stringify(injected));
      const sets = await replicaSetsOf(api.resource(RS, ns), d);
      assert.deepEqual(
        sets.map((rs) => rs.spec.replicas),
        [0, 3],
      );
      const pods = await livePods(api.resource(PODS, ns), "app=web");
      assert.equal(pods.length, 3);
      assert.ok(pods.every((p) => p.spec?.containers?.[0]?.image === "nginx:1.26"));
    } finally {
      await running.stop();
    }
  });

  test("a deployment deleted while its ReplicaSet is being created leaves nothing behind", async () => {
    const ns = "dep-gone";
    await namespace(env, ns);
    const hooked = new InterceptingClient(env.cluster.client().config);
    clients.push(hooked);
    const deploys = api.resource(DEPLOY, ns);
    let deleted = false;
    hooked.intercept = async (req) => {
      if (!deleted && req.method === "POST" && req.path === `/apis/apps/v1/namespaces/${ns}/replicasets`) {
        deleted = true;
        await deploys.delete("doomed");
      }
    };
    const running = await runControllers(hooked, [deploymentController, replicaSetController]);
    await env.run([garbageCollectorController]);
    try {
      const old = await deploys.create(deployment("doomed", ns, 3));
      await waitFor(() => deleted, 10_000, "the deployment deleted during its ReplicaSet's create");
      // Whatever the create in flight made is owned by the deleted deployment: collected.
      await waitFor(
        async () =>
          (await replicaSetsOf(api.resource(RS, ns), old)).length === 0 &&
          (await livePods(api.resource(PODS, ns), "app=doomed")).length === 0,
        20_000,
        "the deleted deployment's ReplicaSet and pods collected",
      );
      // The controller goes on: a new deployment of the same name is a new owner, rolled out afresh.
      const fresh = await deploys.create(deployment("doomed", ns, 2));
      await waitFor(async () => rolloutVerdict(await deploys.get("doomed")).done, 20_000, "fresh rollout");
      const sets = (await api.resource(RS, ns).list()).items;
      assert.equal(sets.length, 1);
      assert.equal(sets[0]?.metadata?.ownerReferences?.[0]?.uid, fresh.metadata?.uid);
      assert.equal((await livePods(api.resource(PODS, ns), "app=doomed")).length, 2);
    } finally {
      await running.stop();
    }
  });
});
