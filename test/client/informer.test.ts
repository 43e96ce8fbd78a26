// Informers against a real apiserver: initial sync, handlers for adds/updates/deletes, indexes,
// the shared factory, and a relist after a watch falls out of the watch cache's history (a real
// 410 from the server) that repairs the cache and reports missed deletions as tombstones.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { parseLabelSelector } from "../../src/api/index.js";
import {
  DeletedFinalStateUnknown,
  deletedObject,
  type EventStream,
  type ListerWatcher,
  listerWatcherFor,
  type RestClient,
  SharedIndexInformer,
  SharedInformerFactory,
} from "../../src/client/index.js";
import { waitFor } from "../support/require.js";
import { startCluster, type TestCluster } from "./cluster.js";

const CONFIGMAPS = { group: "", version: "v1", resource: "configmaps" };
const NAMESPACES = { group: "", version: "v1", resource: "namespaces" };
const PODS = { group: "", version: "v1", resource: "pods" };

/** Wraps a ListerWatcher so a test can cut the current watch and hold the next one back. */
class GatedListerWatcher implements ListerWatcher {
  current: EventStream | undefined;
  lists = 0;
  watchErrors: unknown[] = [];
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  waiting = false;

  constructor(private readonly inner: ListerWatcher) {}

  list(opts: Parameters<ListerWatcher["list"]>[0]) {
    this.lists++;
    return this.inner.list(opts);
  }

  async watch(opts: Parameters<ListerWatcher["watch"]>[0]) {
    if (this.gate) {
      this.waiting = true;
      await this.gate;
      this.waiting = false;
    }
    try {
      this.current = await this.inner.watch(opts);
    } catch (err) {
      this.watchErrors.push(err);
      throw err;
    }
    return this.current;
  }

  /** Ends the current watch (as a dropped connection would) and holds the next until release(). */
  cut(): void {
    this.gate = new Promise((r) => {
      this.open = r;
    });
    this.current?.stop();
  }

  release(): void {
    this.gate = undefined;
    this.open?.();
  }
}

function names(objs: KubeObject[]): string[] {
  return objs.map((o) => o.metadata?.name ?? "").sort();
}

describe("informers", () => {
  let cluster: TestCluster;
  let client: RestClient;
  before(async () => {
    cluster = await startCluster({ historySize: 5 });
    client = cluster.client();
    await client.resource(NAMESPACES).create({ metadata: { name: "inf" } });
    await client.resource(NAMESPACES).create({ metadata: { name: "noise" } });
  });
  after(async () => {
    await cluster?.close();
  });

  test("syncs, fires handlers, indexes, and relists after a 410 with tombstones", async () => {
    const cms = client.resource(CONFIGMAPS, "inf");
    await cms.create({ metadata: { name: "a", labels: { app: "one" } }, data: { v: "0" } });
    await cms.create({ metadata: { name: "b", labels: { app: "two" } } });
    const lw = new GatedListerWatcher(listerWatcherFor(cms));
    const reflectorLog: string[] = [];
    const informer = new SharedIndexInformer(lw, {
      pageSize: 1,
      log: (m) => reflectorLog.push(m),
      indexers: { app: (o) => (o.metadata?.labels?.app ? [o.metadata.labels.app] : []) },
    });
    const log: string[] = [];
    const tombstones: DeletedFinalStateUnknown[] = [];
    informer.addEventHandler({
      onAdd: (o, initial) => log.push(`add ${o.metadata?.name}${initial ? " initial" : ""}`),
      onUpdate: (old, cur) => log.push(`update ${cur.metadata?.name} ${old.data?.v}->${cur.data?.v}`),
      onDelete: (o) => {
        if (o instanceof DeletedFinalStateUnknown) tombstones.push(o);
        log.push(
          `delete ${deletedObject(o).metadata?.name}${o instanceof DeletedFinalStateUnknown ? " tombstone" : ""}`,
        );
      },
    });
    informer.run();
    try {
      assert.equal(await informer.waitForSync(), true);
      assert.equal(informer.hasSynced(), true);
      assert.deepEqual(log.sort(), ["add a initial", "add b initial"]);
      assert.equal(lw.lists, 2, "two objects at pageSize 1: two pages");
      log.length = 0;

      await cms.create({ metadata: { name: "c", labels: { app: "one" } } });
      const a = await cms.get("a");
      await cms.update({ ...a, data: { v: "1" } });
      await cms.delete("b");
      await waitFor(() => log.length === 3, 5000, "three watch events");
      assert.deepEqual(log, ["add c", "update a 0->1", "delete b"]);
      assert.deepEqual(names(informer.lister.list()), ["a", "c"]);
      assert.deepEqual(names(informer.indexer.byIndex("namespace", "inf")), ["a", "c"]);
      assert.deepEqual(names(informer.lister.byIndex("app", "one")), ["a", "c"]);
      assert.deepEqual(names(informer.lister.list(parseLabelSelector("app=one"), "inf")), ["a", "c"]);
      assert.equal(informer.lister.get("inf", "a")?.data.v, "1");
      assert.equal(informer.lister.get("inf", "b"), undefined);
      log.length = 0;

      // Cut the watch; while it is down, change things and push the resource's watch history
      // (5 events) past the informer's resourceVersion, so the re-watch gets 410 Expired.
      const listsBefore = informer.reflector.listCount;
      lw.cut();
      await waitFor(() => lw.waiting, 5000, "the reflector to re-watch");
      await cms.delete("c");
      const a2 = await cms.get("a");
      await cms.update({ ...a2, data: { v: "2" } });
      await cms.create({ metadata: { name: "d", labels: { app: "two" } } });
      const noise = client.resource(CONFIGMAPS, "noise");
      for (let i = 0; i < 8; i++) await noise.create({ metadata: { name: `n${i}` } });
      lw.release();
      await waitFor(() => informer.reflector.listCount > listsBefore, 10_000, "a relist");
      await waitFor(() => log.length === 3, 5000, "relist events");
      // The server answered the re-watch with 410 (an ERROR event or an HTTP error).
      const expired =
        lw.watchErrors.some((e) => (e as { code?: number }).code === 410) ||
        reflectorLog.some((m) => m.includes("too old resource version"));
      assert.ok(expired, `no 410 seen: ${JSON.stringify(reflectorLog)}`);
      assert.equal(informer.reflector.listCount, listsBefore + 1);
      assert.deepEqual(log.sort(), ["add d", "delete c tombstone", "update a 1->2"]);
      assert.equal(tombstones[0]?.key, "inf/c");
      assert.equal(tombstones[0]?.obj.metadata?.name, "c");
      assert.deepEqual(names(informer.lister.list()), ["a", "d"]);
      assert.deepEqual(names(informer.lister.byIndex("app", "one")), ["a"]);
      assert.deepEqual(names(informer.lister.byIndex("app", "two")), ["d"]);

      // And it keeps watching after the relist.
      log.length = 0;
      await cms.create({ metadata: { name: "e" } });
      await waitFor(() => log.includes("add e"), 5000, "watch after relist");
    } finally {
      await informer.stop();
    }
  });

  test("shared factory: one informer per resource and scope, late handlers get the cache", async () => {
    const factory = new SharedInformerFactory(client);
    const pods = factory.forResource(PODS, { namespace: "inf", fieldSelector: "spec.nodeName=node-a" });
    assert.equal(
      factory.forResource(PODS, { namespace: "inf", fieldSelector: "spec.nodeName=node-a" }),
      pods,
    );
    const all = factory.forResource(PODS);
    assert.notEqual(all, pods);
    pods.addIndexers({ node: (p) => [p.spec?.nodeName ?? ""] });
    const podClient = client.resource(PODS, "inf");
    const pod = (name: string, nodeName?: string) => ({
      metadata: { name },
      spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: "c", image: "nginx" }] },
    });
    await podClient.create(pod("p1", "node-a"));
    await podClient.create(pod("p2", "node-b"));
    factory.start();
    try {
      assert.equal(await factory.waitForCacheSync(), true);
      assert.deepEqual(names(pods.lister.list()), ["p1"], "the field selector scopes the informer");
      assert.ok(names(all.lister.list()).includes("p2"));
      const late: string[] = [];
      pods.addEventHandler({ onAdd: (o) => late.push(o.metadata?.name ?? "") });
      assert.deepEqual(late, ["p1"]);
      await podClient.create(pod("p3", "node-a"));
      await waitFor(() => late.includes("p3"), 5000, "p3 in the scoped informer");
      assert.deepEqual(names(pods.lister.byIndex("node", "node-a")), ["p1", "p3"]);
    } finally {
      await factory.shutdown();
    }
  });

  test("resync calls onUpdate for every cached object at the period", async () => {
    const informer = new SharedIndexInformer(listerWatcherFor(client.resource(NAMESPACES)));
    let resyncs = 0;
    informer.addEventHandler({ onUpdate: (o, n) => o === n && resyncs++ }, 50);
    informer.run();
    try {
      await informer.waitForSync();
      const count = informer.indexer.size;
      assert.ok(count >= 2);
      await waitFor(() => resyncs >= 2 * count, 5000, "two resync rounds");
    } finally {
      await informer.stop();
    }
  });
});
