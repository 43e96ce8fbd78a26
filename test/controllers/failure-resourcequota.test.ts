// The resourcequota controller's failure paths: status writes that conflict (with admission's
// charges or anyone else), a quota deleted in mid-reconcile, and the race between its recount and
// the apiserver's quota admission, which must never let more objects in than the quota allows.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { conflict, type KubeObject } from "../../src/api/index.js";
import type { RestClient, RestRequest, WatchStream } from "../../src/client/index.js";
import { resourceQuotaController } from "../../src/controllers/resourcequota/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, runControllers, startControllerEnv } from "./harness.js";
import { InterceptingClient, namespace, PODS } from "./workloads-support.js";

/** A client whose pod watches deliver nothing while `hold` is set, then catch up on release(). */
class LaggingPodWatchClient extends InterceptingClient {
  hold = false;
  private waiters: Array<() => void> = [];

  release(): void {
    this.hold = false;
    for (const w of this.waiters.splice(0)) w();
  }

  override async watch<T extends KubeObject>(req: RestRequest): Promise<WatchStream<T>> {
    const stream = await super.watch<T>(req);
    if (!/\/pods$/.test(req.path)) return stream;
    const gate = async () => {
      while (this.hold) await new Promise<void>((resolve) => this.waiters.push(resolve));
    };
    const iterate = stream[Symbol.asyncIterator].bind(stream);
    return Object.assign(Object.create(stream), {
      [Symbol.asyncIterator]: () => {
        const it = iterate();
        return {
          async next() {
            const item = await it.next();
            await gate();
            return item;
          },
          return: it.return?.bind(it),
        };
      },
      stop: () => stream.stop(),
    }) as WatchStream<T>;
  }
}

const QUOTAS = { group: "", version: "v1", resource: "resourcequotas" };

function pod(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "c", image: "x" }] },
  };
}

function quota(name: string, hard: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "ResourceQuota", metadata: { name }, spec: { hard } };
}

describe("resourcequota controller failure paths", () => {
  let env: ControllerTestEnv;
  let api: RestClient;
  const clients: InterceptingClient[] = [];

  before(async () => {
    env = await startControllerEnv();
    api = env.cluster.client({ qps: 1000, burst: 1000 });
  });
  afterEach(async () => {
    await env.stopAll();
    for (const c of clients.splice(0)) c.close();
  });
  after(async () => {
    await env.close();
  });

  const usedOf = async (ns: string, name: string) =>
    (await api.resource(QUOTAS, ns).get(name)).status?.used ?? {};

  test("conflicting status writes are retried until the count lands", async () => {
    const ns = "rq-conflict";
    await namespace(env, ns);
    const flaky = new InterceptingClient(env.cluster.client().config);
    clients.push(flaky);
    let injected = 0;
    flaky.intercept = (req) => {
      if (
        req.method === "PUT" &&
        req.path.endsWith("/status") &&
        req.path.includes(`/${ns}/`) &&
        injected < 3
      ) {
        injected++;
        throw conflict({ group: "", resource: "resourcequotas" }, "q");
      }
    };
    await api.resource(PODS, ns).create(pod("a"));
    const running = await runControllers(flaky, [resourceQuotaController]);
    try {
      await api.resource(QUOTAS, ns).create(quota("q", { pods: "5" }));
      await waitFor(async () => (await usedOf(ns, "q")).pods === "1", 15_000, "count after conflicts");
      assert.equal(injected, 3);
    } finally {
      await running.stop();
    }
  });

  test("a quota deleted in mid-reconcile is dropped; the controller goes on with the others", async () => {
    const ns = "rq-gone";
    await namespace(env, ns);
    const hooked = new InterceptingClient(env.cluster.client().config);
    clients.push(hooked);
    let deleted = false;
    hooked.intercept = async (req) => {
      if (
        !deleted &&
        req.method === "PUT" &&
        req.path === `/api/v1/namespaces/${ns}/resourcequotas/doomed/status`
      ) {
        deleted = true;
        await api.resource(QUOTAS, ns).delete("doomed");
      }
    };
    const running = await runControllers(hooked, [resourceQuotaController]);
    try {
      await api.resource(QUOTAS, ns).create(quota("doomed", { pods: "1" }));
      await waitFor(() => deleted, 10_000, "the quota deleted during its first status write");
      await api.resource(QUOTAS, ns).create(quota("next", { pods: "3" }));
      await waitFor(async () => (await usedOf(ns, "next")).pods === "0", 10_000, "next counted");
      // A new quota of the old name is a new object, counted afresh; creates are not blocked.
      await api.resource(PODS, ns).create(pod("p"));
      await api.resource(QUOTAS, ns).create(quota("doomed", { pods: "2" }));
      await waitFor(async () => (await usedOf(ns, "doomed")).pods === "1", 10_000, "doomed recounted");
      await waitFor(async () => (await usedOf(ns, "next")).pods === "1", 10_000, "next charged");
    } finally {
      await running.stop();
    }
  });

  test("a recount never undoes admission's charges for objects its cache has not seen yet", async () => {
    // The controller's pod watch is held back, as a lagging informer would be: the pods admission
    // charges stay invisible to the controller. Upstream recounts on spec changes, deletions and a
    // periodic resync, not on status.used changes nor on adds (admission has counted those).
    const ns = "rq-race";
    await namespace(env, ns);
    const lagging = new LaggingPodWatchClient(env.cluster.client().config);
    clients.push(lagging);
    const running = await runControllers(lagging, [resourceQuotaController]);
    try {
      await api.resource(QUOTAS, ns).create(quota("q", { pods: "2" }));
      await waitFor(async () => (await usedOf(ns, "q")).pods === "0", 10_000, "quota counted");
      lagging.hold = true;
      const pods = api.resource(PODS, ns);
      await pods.create(pod("a"));
      await pods.create(pod("b"));
      await assert.rejects(pods.create(pod("c")), /exceeded quota: q, requested: pods=1, used: pods=2/);
      assert.equal((await pods.list()).items.length, 2);
      lagging.release();
      // A deletion frees its slot once the controller sees it.
      await pods.delete("a", { gracePeriodSeconds: 0 });
      await waitFor(async () => (await usedOf(ns, "q")).pods === "1", 10_000, "slot freed");
      await pods.create(pod("c"));
    } finally {
      lagging.release();
      await running.stop();
    }
  });
});
