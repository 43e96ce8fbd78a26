import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isStatusError, type KubeObject } from "../../src/api/index.js";
import type { GroupVersionResource, ResourceClient } from "../../src/client/index.js";
import { Collector } from "../../src/controllers/garbagecollector/collector.js";
import { nodeOf } from "../../src/controllers/garbagecollector/graph.js";
import {
  DependencyGraph,
  discoverResources,
  garbageCollectorController,
} from "../../src/controllers/garbagecollector/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, runControllers, startControllerEnv } from "./harness.js";
import {
  CONFIGMAPS,
  ConflictingClient,
  configMap,
  DEPLOYMENTS,
  deployment,
  ownerRef,
  PODS,
  pod,
  REPLICASETS,
  replicaSet,
} from "./lifecycle-fixtures.js";

describe("garbage collector", () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerEnv();
  });
  after(async () => {
    await env.close();
  });

  const rc = (gvr: GroupVersionResource): ResourceClient => env.client.resource(gvr, "default");
  const gone = async (gvr: GroupVersionResource, name: string) => {
    try {
      await rc(gvr).get(name);
      return false;
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return true;
      throw err;
    }
  };

  /** Deployment → ReplicaSet → Pod, built by hand with ownerReferences. */
  async function chain(name: string, podOpts: { finalizers?: string[] } = {}) {
    const d = await rc(DEPLOYMENTS).create(deployment(name));
    const rs = await rc(REPLICASETS).create(replicaSet(`${name}-rs`, name, ownerRef(d)));
    const p = await rc(PODS).create(pod(`${name}-pod`, { app: name }, { owner: ownerRef(rs), ...podOpts }));
    return { d, rs, p };
  }

  test("background: deleting the owner deletes the whole chain", async () => {
    const running = await env.run([garbageCollectorController]);
    await chain("bg");
    await rc(DEPLOYMENTS).delete("bg", { propagationPolicy: "Background" });
    await waitFor(
      async () => (await gone(REPLICASETS, "bg-rs")) && (await gone(PODS, "bg-pod")),
      15_000,
      "chain deleted",
    );
    await running.stop();
  });

  test("foreground: the owner stays until its blocking dependents are gone", async () => {
    const running = await env.run([garbageCollectorController]);
    await chain("fg", { finalizers: ["example.com/hold"] });
    await rc(DEPLOYMENTS).delete("fg", { propagationPolicy: "Foreground" });
    // The pod's finalizer holds the pod, hence the ReplicaSet (foreground too), hence the Deployment.
    await waitFor(
      async () => Boolean((await rc(PODS).get("fg-pod")).metadata?.deletionTimestamp),
      15_000,
      "pod being deleted",
    );
    const rs = await rc(REPLICASETS).get("fg-rs");
    assert.ok(rs.metadata?.deletionTimestamp);
    assert.ok(
      rs.metadata?.finalizers?.includes("foregroundDeletion"),
      "dependent deleted in the foreground too",
    );
    const d = await rc(DEPLOYMENTS).get("fg");
    assert.ok(d.metadata?.finalizers?.includes("foregroundDeletion"));

    const p = await rc(PODS).get("fg-pod");
    await rc(PODS).update({ ...p, metadata: { ...p.metadata, finalizers: [] } } as KubeObject);
    await waitFor(
      async () =>
        (await gone(PODS, "fg-pod")) && (await gone(REPLICASETS, "fg-rs")) && (await gone(DEPLOYMENTS, "fg")),
      15_000,
      "whole chain gone, owner last",
    );
    await running.stop();
  });

  test("orphan: dependents lose the ownerReference and stay", async () => {
    const running = await env.run([garbageCollectorController]);
    const { rs } = await chain("or");
    await rc(DEPLOYMENTS).delete("or", { propagationPolicy: "Orphan" });
    await waitFor(async () => gone(DEPLOYMENTS, "or"), 15_000, "owner gone after orphaning");
    const kept = await rc(REPLICASETS).get("or-rs");
    assert.equal(kept.metadata?.uid, rs.metadata?.uid);
    assert.deepEqual(kept.metadata?.ownerReferences ?? [], []);
    assert.equal(await gone(PODS, "or-pod"), false, "grand-dependent kept");
    await running.stop();
  });

  test("a dependent with a live owner and a dangling one keeps the live one", async () => {
    const running = await env.run([garbageCollectorController]);
    const live = await rc(CONFIGMAPS).create(configMap("owner-live"));
    const dead = await rc(CONFIGMAPS).create(configMap("owner-dead"));
    await rc(CONFIGMAPS).create(
      configMap("two-owners", { ownerReferences: [ownerRef(live, false), ownerRef(dead, false)] }),
    );
    await rc(CONFIGMAPS).delete("owner-dead");
    await waitFor(
      async () => (await rc(CONFIGMAPS).get("two-owners")).metadata?.ownerReferences?.length === 1,
      15_000,
      "dangling reference removed",
    );
    const dep = await rc(CONFIGMAPS).get("two-owners");
    assert.equal(dep.metadata?.ownerReferences?.[0]?.uid, live.metadata?.uid);
    await running.stop();
  });

  test("an owner missing from a stale cache is looked up live before anything is deleted", async () => {
    const owner = await rc(CONFIGMAPS).create(configMap("stale-owner"));
    const dep = await rc(CONFIGMAPS).create(configMap("stale-dep", { ownerReferences: [ownerRef(owner)] }));
    const resources = await discoverResources(env.client);
    const kinds = new Map(resources.map((r) => [`${r.gvr.group}/${r.kind}`, r]));
    // The graph knows the dependent but not its owner, as a cache that has not caught up would.
    const graph = new DependencyGraph();
    graph.upsert(nodeOf(CONFIGMAPS, dep));
    const collector = new Collector(env.client, graph, kinds, () => {});
    await collector.attemptToDelete(dep.metadata?.uid ?? "");
    assert.equal(await gone(CONFIGMAPS, "stale-dep"), false, "kept: the owner exists");

    // Same name, new uid: the owner the dependent names is gone.
    await rc(CONFIGMAPS).delete("stale-owner");
    await rc(CONFIGMAPS).create(configMap("stale-owner"));
    await collector.attemptToDelete(dep.metadata?.uid ?? "");
    assert.equal(await gone(CONFIGMAPS, "stale-dep"), true, "deleted: the owner was replaced");
  });

  test("owners deleted while the collector was down are collected after a restart", async () => {
    const first = await env.run([garbageCollectorController]);
    await first.stop();
    await chain("rst");
    await rc(DEPLOYMENTS).delete("rst", { propagationPolicy: "Background" });
    assert.equal(await gone(REPLICASETS, "rst-rs"), false);
    const second = await env.run([garbageCollectorController]);
    await waitFor(
      async () => (await gone(REPLICASETS, "rst-rs")) && (await gone(PODS, "rst-pod")),
      15_000,
      "collected after restart",
    );
    await second.stop();
  });

  test("an owner left with a foregroundDeletion finalizer is finished after a restart", async () => {
    const first = await env.run([garbageCollectorController]);
    await first.stop();
    await chain("fgr");
    await rc(DEPLOYMENTS).delete("fgr", { propagationPolicy: "Foreground" });
    const d = await rc(DEPLOYMENTS).get("fgr");
    assert.ok(d.metadata?.finalizers?.includes("foregroundDeletion"));
    const second = await env.run([garbageCollectorController]);
    await waitFor(
      async () =>
        (await gone(DEPLOYMENTS, "fgr")) &&
        (await gone(REPLICASETS, "fgr-rs")) &&
        (await gone(PODS, "fgr-pod")),
      15_000,
      "foreground deletion finished after restart",
    );
    await second.stop();
  });

  test("conflicts on delete and on finalizer removal are retried", async () => {
    const flaky = new ConflictingClient(
      env.client.config,
      (req) =>
        (req.method === "DELETE" && req.path.includes("/replicasets/")) ||
        (req.method === "PUT" && req.path.endsWith("/deployments/cf")),
      3,
    );
    const running = await runControllers(flaky, [garbageCollectorController]);
    try {
      await chain("cf");
      await rc(DEPLOYMENTS).delete("cf", { propagationPolicy: "Foreground" });
      await waitFor(
        async () =>
          (await gone(DEPLOYMENTS, "cf")) &&
          (await gone(REPLICASETS, "cf-rs")) &&
          (await gone(PODS, "cf-pod")),
        15_000,
        "chain gone despite conflicts",
      );
      assert.equal(flaky.conflicts, 3);
    } finally {
      await running.stop();
      flaky.close();
    }
  });
});
