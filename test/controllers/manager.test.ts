import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import type { KubeObject } from "../../src/api/index.js";
import type { Controller } from "../../src/controllers/context.js";
import { type RunningControllerManager, startControllerManager } from "../../src/controllers/manager.js";
import { startCluster } from "../client/cluster.js";
import { waitFor } from "../support/require.js";

const CONFIGMAPS = { group: "", version: "v1", resource: "configmaps" };

/** A test-only controller: copies each ConfigMap's data.in to data.out, tagged with the manager's name. */
function echoController(tag: string, starts: string[]): Controller {
  return {
    name: "echo",
    async start(ctx) {
      starts.push(tag);
      const informer = ctx.informers.forResource(CONFIGMAPS, { namespace: "default" });
      const reconcile = async (cm: KubeObject) => {
        if (ctx.signal.aborted || cm.data?.in === undefined || cm.data?.out === `${tag}:${cm.data.in}`)
          return;
        await ctx.client
          .resource(CONFIGMAPS, "default")
          .patch(cm.metadata?.name ?? "", "merge", { data: { out: `${tag}:${cm.data.in}` } })
          .catch((err: unknown) => ctx.log(`patch failed: ${(err as Error).message}`));
        ctx.recorder.event(cm, "Normal", "Echoed", `echoed ${cm.data.in}`);
      };
      informer.addEventHandler({
        onAdd: (cm) => void reconcile(cm),
        onUpdate: (_o, cm) => void reconcile(cm),
      });
    },
  };
}

describe("controller-manager", () => {
  test("runs its controllers over shared informers; of two managers one leads, the other takes over", async () => {
    const cluster = await startCluster();
    const managers: RunningControllerManager[] = [];
    try {
      const client = cluster.client();
      const starts: string[] = [];
      const registry = new Registry();
      const timing = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 };
      for (const tag of ["a", "b"])
        managers.push(
          startControllerManager({
            client,
            controllers: [echoController(tag, starts)],
            identity: tag,
            registry: tag === "a" ? registry : undefined,
            ...timing,
          }),
        );
      await waitFor(() => managers.some((m) => m.isLeader()), 10_000, "a leader");
      const leader = managers.find((m) => m.isLeader()) as RunningControllerManager;
      await leader.synced();
      assert.equal(managers.filter((m) => m.isLeader()).length, 1);
      assert.equal(starts.length, 1, "only the leader started its controllers");
      const cms = client.resource(CONFIGMAPS, "default");
      await cms.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: { in: "1" } });
      await waitFor(
        async () => (await cms.get("x")).data?.out === `${starts[0]}:1`,
        10_000,
        "echo by leader",
      );
      const leaderTag = starts[0];
      const metrics = await registry.metrics();
      assert.match(
        metrics,
        new RegExp(
          `leader_election_master_status\\{name="kube-controller-manager"\\} ${leaderTag === "a" ? 1 : 0}`,
        ),
      );
      await leader.stop();
      const follower = managers.find((m) => m !== leader) as RunningControllerManager;
      await waitFor(() => follower.isLeader(), 10_000, "the follower leading");
      await follower.synced();
      const followerTag = leaderTag === "a" ? "b" : "a";
      // The new leader's informers list the existing object and reconcile it as its own.
      await waitFor(
        async () => (await cms.get("x")).data?.out === `${followerTag}:1`,
        10_000,
        "echo by follower",
      );
      const events = (
        await client.resource({ group: "", version: "v1", resource: "events" }, "default").list()
      ).items;
      const echoed = events.find((e) => e.reason === "Echoed");
      assert.equal(echoed?.source?.component, "kube-controller-manager");
    } finally {
      for (const m of managers) await m.stop();
      await cluster.close();
    }
  });

  test("without leader election the controllers start at once; stop aborts their signal", async () => {
    const cluster = await startCluster();
    try {
      let signal: AbortSignal | undefined;
      const manager = startControllerManager({
        client: cluster.client(),
        identity: "solo",
        leaderElect: false,
        controllers: [
          {
            name: "probe",
            async start(ctx) {
              signal = ctx.signal;
            },
          },
        ],
      });
      await manager.synced();
      assert.equal(manager.isLeader(), true);
      assert.equal(signal?.aborted, false);
      await manager.stop();
      assert.equal(signal?.aborted, true);
    } finally {
      await cluster.close();
    }
  });
});
