import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isStatusError, type KubeObject } from "../../src/api/index.js";
import { namespaceController } from "../../src/controllers/namespace/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, runControllers, startControllerEnv } from "./harness.js";
import {
  CONFIGMAPS,
  ConflictingClient,
  configMap,
  NAMESPACES,
  PODS,
  pod,
  SERVICEACCOUNTS,
} from "./lifecycle-fixtures.js";

describe("namespace controller", () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerEnv();
  });
  after(async () => {
    await env.close();
  });

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
  const nsExists = (name: string) => exists(() => env.client.resource(NAMESPACES).get(name));

  test("deleting a namespace deletes its content, waits for finalizers, then finalizes it", async () => {
    const running = await env.run([namespaceController]);
    await createNs("doomed");
    const cms = env.client.resource(CONFIGMAPS, "doomed");
    await cms.create(configMap("plain"));
    await cms.create(configMap("held", { finalizers: ["example.com/hold"] }));
    await env.client.resource(PODS, "doomed").create(pod("p1", { app: "x" }));
    await env.client
      .resource(SERVICEACCOUNTS, "doomed")
      .create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot" } });
    await env.client.resource(NAMESPACES).delete("doomed");
    const ns = await env.client.resource(NAMESPACES).get("doomed");
    assert.equal(ns.status?.phase, "Terminating");

    await waitFor(
      async () =>
        !(await exists(() => cms.get("plain"))) &&
        !(await exists(() => env.client.resource(PODS, "doomed").get("p1"))) &&
        !(await exists(() => env.client.resource(SERVICEACCOUNTS, "doomed").get("robot"))),
      10_000,
      "content deleted",
    );
    // The held object is being deleted but its finalizer keeps it, and with it the namespace.
    const held = await cms.get("held");
    assert.ok(held.metadata?.deletionTimestamp, "held configmap marked for deletion");
    assert.equal(await nsExists("doomed"), true);

    await cms.update({ ...held, metadata: { ...held.metadata, finalizers: [] } } as KubeObject);
    await waitFor(async () => !(await nsExists("doomed")), 15_000, "namespace finalized and gone");
    await running.stop();
  });

  test("a namespace deleted while the controller was down is cleaned up after a restart", async () => {
    const first = await env.run([namespaceController]);
    await first.stop();
    await createNs("later");
    await env.client.resource(CONFIGMAPS, "later").create(configMap("c1"));
    await env.client.resource(NAMESPACES).delete("later");
    assert.equal(await nsExists("later"), true, "nothing finalizes without the controller");
    const second = await env.run([namespaceController]);
    await waitFor(async () => !(await nsExists("later")), 15_000, "namespace gone after restart");
    await second.stop();
  });

  test("active namespaces are left alone", async () => {
    const running = await env.run([namespaceController]);
    await createNs("keep");
    const cms = env.client.resource(CONFIGMAPS, "keep");
    await cms.create(configMap("stay"));
    // A terminating namespace processed after it proves the controller has been working meanwhile.
    await createNs("probe");
    await env.client.resource(NAMESPACES).delete("probe");
    await waitFor(async () => !(await nsExists("probe")), 15_000, "probe namespace gone");
    assert.equal(await exists(() => cms.get("stay")), true);
    await running.stop();
  });

  test("pods in graceful deletion keep the namespace until they are gone; conflicts on finalize are retried", async () => {
    const flaky = new ConflictingClient(
      env.client.config,
      (req) => req.method === "PUT" && req.path.endsWith("/finalize"),
      2,
    );
    const running = await runControllers(flaky, [namespaceController]);
    try {
      await createNs("graceful");
      const pods = env.client.resource(PODS, "graceful");
      // A bound pod is deleted gracefully: it lingers until its kubelet confirms.
      await pods.create({
        ...pod("bound", { app: "x" }),
        spec: { ...pod("x", {}).spec, nodeName: "node-a" },
      });
      await env.client.resource(NAMESPACES).delete("graceful");
      await waitFor(
        async () => Boolean((await pods.get("bound")).metadata?.deletionTimestamp),
        10_000,
        "pod terminating",
      );
      assert.equal(await nsExists("graceful"), true);
      // The kubelet's confirmation.
      await pods.delete("bound", { gracePeriodSeconds: 0 });
      await waitFor(async () => !(await nsExists("graceful")), 20_000, "namespace gone once the pod is");
      assert.equal(flaky.conflicts, 2);
    } finally {
      await running.stop();
      flaky.close();
    }
  });
});
