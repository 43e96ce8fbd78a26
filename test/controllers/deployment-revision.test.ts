// Where the deployment.kubernetes.io/revision annotation is written, as upstream: the deployment
// controller records it with UpdateStatus (sync.go getNewReplicaSet), which the deployment status
// strategy allows since it resets only spec and labels. Written through the main resource it would
// bump metadata.generation (annotation changes do, for deployments) on every rollout.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RestClient } from "../../src/client/index.js";
import { deploymentController } from "../../src/controllers/deployment/index.js";
import { replicaSetController } from "../../src/controllers/replicaset/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, type FakeKubelet, startControllerEnv, startFakeKubelet } from "./harness.js";
import { DEPLOY, deployment, namespace, rolloutVerdict, updateImage } from "./workloads-support.js";

const REVISION = "deployment.kubernetes.io/revision";

describe("deployment revision annotation", () => {
  let env: ControllerTestEnv;
  let api: RestClient;
  let kubelet: FakeKubelet;
  const ns = "dep-revision";

  before(async () => {
    env = await startControllerEnv();
    api = env.cluster.client({ qps: 1000, burst: 1000 });
    await namespace(env, ns);
    kubelet = await startFakeKubelet(api);
  });
  after(async () => {
    await kubelet.stop();
    await env.close();
  });

  test("the status subresource of a deployment may change annotations but not labels or spec", async () => {
    const deploys = api.resource(DEPLOY, ns);
    const d = await deploys.create(deployment("plain", ns, 0));
    const written = await deploys.updateStatus({
      ...d,
      metadata: { ...d.metadata, annotations: { note: "by status" }, labels: { changed: "yes" } },
      spec: { ...d.spec, replicas: 5 },
      status: { observedGeneration: 1 },
    });
    assert.equal(written.metadata?.annotations?.note, "by status");
    assert.equal(written.metadata?.labels?.changed, undefined);
    assert.equal(written.spec.replicas, 0);
    assert.equal(written.metadata?.generation, 1, "a status write never moves generation");
  });

  test("rollouts record the revision without bumping generation beyond the spec changes", async () => {
    await env.run([replicaSetController, deploymentController]);
    const deploys = api.resource(DEPLOY, ns);
    await deploys.create(deployment("web", ns, 2));
    await waitFor(
      async () => {
        const cur = await deploys.get("web");
        return cur.metadata?.annotations?.[REVISION] === "1" && rolloutVerdict(cur).done;
      },
      15_000,
      "first rollout",
    );
    assert.equal((await deploys.get("web")).metadata?.generation, 1);
    await updateImage(deploys, "web", "nginx:1.26");
    await waitFor(
      async () => {
        const cur = await deploys.get("web");
        return cur.metadata?.annotations?.[REVISION] === "2" && rolloutVerdict(cur).done;
      },
      15_000,
      "second rollout",
    );
    const cur = await deploys.get("web");
    assert.equal(cur.metadata?.generation, 2, "one bump: the template change");
    assert.equal(cur.status.observedGeneration, 2);
  });
});
