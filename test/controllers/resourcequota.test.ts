import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import type { ResourceClient } from "../../src/client/index.js";
import { checkQuota, podUsage, resourceQuotaController } from "../../src/controllers/resourcequota/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, startControllerEnv } from "./harness.js";

const QUOTAS = { group: "", version: "v1", resource: "resourcequotas" };
const PODS = { group: "", version: "v1", resource: "pods" };
const CONFIGMAPS = { group: "", version: "v1", resource: "configmaps" };
const DEPLOYMENTS = { group: "apps", version: "v1", resource: "deployments" };

describe("checkQuota", () => {
  const quota = {
    name: "compute",
    hard: { pods: "2", "requests.cpu": "1" },
    used: { pods: "2", "requests.cpu": "500m" },
  };
  test("rejects with upstream's message", () => {
    assert.equal(
      checkQuota(quota, { pods: "1", "requests.cpu": "100m" }),
      "exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2",
    );
    assert.equal(
      checkQuota(quota, { pods: 1, "requests.cpu": "600m" }),
      "exceeded quota: compute, requested: pods=1,requests.cpu=600m, used: pods=2,requests.cpu=500m, limited: pods=2,requests.cpu=1",
    );
  });
  test("accepts what fits and ignores resources the quota does not limit", () => {
    assert.equal(
      checkQuota({ ...quota, used: { pods: "1", "requests.cpu": "0" } }, { pods: 1, secrets: 5 }),
      undefined,
    );
    assert.equal(checkQuota(quota, { configmaps: 1 }), undefined);
  });
  test("a resource not yet counted is unknown, not free", () => {
    assert.equal(
      checkQuota({ name: "q", hard: { pods: "1" } }, { pods: 1 }),
      "status unknown for quota: q, resources: pods",
    );
  });
  test("pod usage: max(sum of containers, largest init container), nothing once finished", () => {
    const pod: KubeObject = {
      spec: {
        containers: [
          { resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m" } } },
          { resources: { requests: { cpu: "150m" } } },
        ],
        initContainers: [{ resources: { requests: { cpu: "500m", memory: "32Mi" } } }],
      },
    };
    const u = podUsage(pod);
    assert.equal(u.get("requests.cpu")?.toString(), "500m");
    assert.equal(u.get("requests.memory")?.toString(), "64Mi");
    assert.equal(u.get("limits.cpu")?.toString(), "200m");
    assert.equal(u.get("pods")?.toString(), "1");
    assert.equal(podUsage({ ...pod, status: { phase: "Succeeded" } }).size, 0);
  });
});

describe("resourcequota controller", () => {
  let env: ControllerTestEnv;
  let quotas: ResourceClient;
  let pods: ResourceClient;

  before(async () => {
    env = await startControllerEnv();
    quotas = env.client.resource(QUOTAS, "default");
    pods = env.client.resource(PODS, "default");
  });
  afterEach(async () => {
    await env.stopAll();
  });
  after(async () => {
    await env.close();
  });

  const pod = (name: string, cpu: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      containers: [
        { name: "c", image: "x", resources: { requests: { cpu, memory: "64Mi" }, limits: { cpu } } },
      ],
    },
  });
  const usedOf = async () => (await quotas.get("q")).status?.used ?? {};

  test("tracks pods, cpu/memory, configmaps and count/ usage as objects come and go", async () => {
    const running = await env.run([resourceQuotaController]);
    await pods.create(pod("a", "250m"));
    await quotas.create({
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "q" },
      spec: {
        hard: {
          pods: "10",
          "requests.cpu": "2",
          "requests.memory": "1Gi",
          "limits.cpu": "4",
          configmaps: "5",
          "count/deployments.apps": "3",
          persistentvolumeclaims: "2",
        },
      },
    });
    await waitFor(async () => (await usedOf()).pods === "1", 10_000, "first count");
    let q = await quotas.get("q");
    assert.deepEqual(q.status.hard, q.spec.hard);
    assert.equal(q.status.used["requests.cpu"], "250m");
    assert.equal(q.status.used["requests.memory"], "64Mi");
    assert.equal(q.status.used["count/deployments.apps"], "0");
    // kite serves no persistentvolumeclaims: none to count.
    assert.equal(q.status.used.persistentvolumeclaims, "0");
    await pods.create(pod("b", "500m"));
    await env.client
      .resource(CONFIGMAPS, "default")
      .create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" } });
    await env.client.resource(DEPLOYMENTS, "default").create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: {
        selector: { matchLabels: { app: "d" } },
        template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "x" }] } },
      },
    });
    await waitFor(
      async () => {
        const u = await usedOf();
        return u.pods === "2" && u["requests.cpu"] === "750m" && u["count/deployments.apps"] === "1";
      },
      10_000,
      "usage after creates",
    );
    // configmaps counts kube-root-ca.crt too when something publishes it; at least ours.
    assert.ok(Number((await usedOf()).configmaps) >= 1);
    // A finished pod no longer counts; a deleted one neither.
    const b = await pods.get("b");
    b.status = { ...(b.status ?? {}), phase: "Succeeded" };
    await pods.updateStatus(b);
    await pods.delete("a");
    await waitFor(async () => (await usedOf()).pods === "0", 10_000, "usage after finish and delete");
    q = await quotas.get("q");
    assert.equal(q.status.used["requests.cpu"], "0");
    await running.stop();
  });

  test("a restarted controller recounts what changed while it was down; a changed spec is picked up", async () => {
    let running = await env.run([resourceQuotaController]);
    await waitFor(async () => (await usedOf()).pods === "0");
    await running.stop();
    await pods.create(pod("c", "100m"));
    await quotas.patch("q", "merge", { spec: { hard: { pods: "3", "count/jobs.batch": "1" } } });
    running = await env.run([resourceQuotaController]);
    await waitFor(
      async () => {
        const q = await quotas.get("q");
        return (
          q.status?.used?.pods === "1" &&
          q.status?.hard?.pods === "3" &&
          q.status?.used?.["count/jobs.batch"] === "0"
        );
      },
      10_000,
      "recount after restart",
    );
    await running.stop();
  });
});
