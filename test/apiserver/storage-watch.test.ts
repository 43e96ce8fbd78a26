// The watch cache against real etcd 3.4 and kite's store: resuming from a resourceVersion,
// synthetic ADDED from "0", selector transitions, bookmarks, streaming lists, 410 for history
// it no longer has, 1000 watchers on one etcd watch, a slow watcher cut off alone, and the
// cache's etcd watch resuming after an etcd restart.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubeObject, Status, WatchEvent } from "../../src/api/index.js";
import { EtcdClient, EtcdObjectStore, INITIAL_EVENTS_END } from "../../src/apiserver/storage/index.js";
import { waitFor } from "../support/require.js";
import {
  type Backend,
  backendOr,
  collect,
  forEachBackend,
  freshPrefix,
  haveEtcd,
  names,
  nodesDef,
  pod,
  podsDef,
  startEtcd,
  startProxy,
} from "./storage-backends.js";

const rvOf = (o: KubeObject) => Number(o.metadata?.resourceVersion);

forEachBackend((backend) => {
  test("watch from a resourceVersion and from 0, filtered, with MODIFIED turned into ADDED/DELETED", async (t) => {
    const b = backend();
    if (!backendOr(t, b)) return;
    const store = EtcdObjectStore.connect({ endpoints: [b.endpoint], prefix: freshPrefix() });
    try {
      const p1 = await store.create(podsDef, pod("a", "p1", { app: "x" }, "n1"));
      await store.create(podsDef, pod("b", "p2", { app: "x" }, "n2"));
      const fromRv = collect(await store.watch(podsDef, { resourceVersion: String(rvOf(p1)) }));
      const fromZero = collect(await store.watch(podsDef, { resourceVersion: "0" }));
      const inA = collect(await store.watch(podsDef, { namespace: "a", resourceVersion: String(rvOf(p1)) }));
      const byLabel = collect(
        await store.watch(podsDef, { labelSelector: "app=x", resourceVersion: String(rvOf(p1)) }),
      );
      const byNode = collect(
        await store.watch(podsDef, { fieldSelector: "spec.nodeName=n1", resourceVersion: String(rvOf(p1)) }),
      );
      const set = (mutate: (o: KubeObject) => void) =>
        store.guaranteedUpdate(podsDef, "a", "p1", (o) => {
          mutate(o);
          return o;
        });
      await set((o) => {
        o.metadata!.labels = { app: "y" };
      });
      await set((o) => {
        o.spec.nodeName = "n2";
      });
      await set((o) => {
        o.metadata!.labels = { app: "x" };
      });
      await set((o) => {
        o.spec.nodeName = "n1";
      });
      const deleted = await store.delete(podsDef, "a", "p1");
      await waitFor(() => fromRv.length === 6, 15_000, "all events");
      assert.deepEqual(names(fromRv), [
        "ADDED p2",
        "MODIFIED p1",
        "MODIFIED p1",
        "MODIFIED p1",
        "MODIFIED p1",
        "DELETED p1",
      ]);
      const last = fromRv[5]!.object as KubeObject;
      assert.ok(rvOf(last) > rvOf(deleted), "a DELETED event carries the deletion revision");
      await waitFor(() => fromZero.length === 7, 15_000, "watch from 0");
      assert.deepEqual(names(fromZero).slice(0, 2), ["ADDED p1", "ADDED p2"]);
      assert.deepEqual(names(inA), [
        "MODIFIED p1",
        "MODIFIED p1",
        "MODIFIED p1",
        "MODIFIED p1",
        "DELETED p1",
      ]);
      assert.deepEqual(names(byLabel), ["ADDED p2", "DELETED p1", "ADDED p1", "MODIFIED p1", "DELETED p1"]);
      assert.deepEqual(names(byNode), ["MODIFIED p1", "DELETED p1", "ADDED p1", "DELETED p1"]);
      // Object seen leaving a selector: its old state at the revision it left.
      assert.equal((byLabel[1]!.object as KubeObject).metadata?.labels?.app, "x");
      assert.equal(rvOf(byLabel[1]!.object as KubeObject), rvOf(fromRv[1]!.object as KubeObject));
      assert.ok(
        fromRv.every((e) => Object.isFrozen(e.object)),
        "shared event objects are frozen",
      );
    } finally {
      await store.close();
    }
  });

  test("bookmarks only when asked; streaming lists end with the initial-events-end bookmark", async (t) => {
    const b = backend();
    if (!backendOr(t, b)) return;
    const store = EtcdObjectStore.connect({
      endpoints: [b.endpoint],
      prefix: freshPrefix(),
      bookmarkIntervalMs: 20,
    });
    try {
      await store.create(podsDef, pod("a", "p1"));
      const p2 = await store.create(podsDef, pod("a", "p2"));
      // "0" may be served from a cache that has not seen p2 yet; wait so the result is known.
      await waitFor(() => store.stats().resources[0]!.resourceVersion >= rvOf(p2), 15_000, "cache catch-up");
      const withMarks = collect(
        await store.watch(podsDef, { resourceVersion: "0", allowWatchBookmarks: true }),
      );
      const without = collect(await store.watch(podsDef, { resourceVersion: "0" }));
      await waitFor(() => withMarks.filter((e) => e.type === "BOOKMARK").length >= 3, 15_000, "bookmarks");
      assert.deepEqual(names(without), ["ADDED p1", "ADDED p2"]);
      const mark = withMarks.find((e) => e.type === "BOOKMARK")!.object as KubeObject;
      assert.deepEqual(mark, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { resourceVersion: String(rvOf(p2)) },
      });

      // Streaming list served by the cache ("0"), and by etcd when the cache lags the store ("").
      await store.create(nodesDef, { kind: "Node", metadata: { name: "n1" } });
      for (const resourceVersion of ["0", ""]) {
        const present = (await store.list(podsDef, {})).items.map((o) => `ADDED ${o.metadata?.name}`);
        await waitFor(() => store.stats().resources[0]!.objects === present.length, 15_000, "cache catch-up");
        const events = collect(
          await store.watch(podsDef, { resourceVersion, sendInitialEvents: true, allowWatchBookmarks: true }),
        );
        const end = events[present.length];
        assert.deepEqual(names(events.slice(0, present.length)), present);
        assert.equal(end?.type, "BOOKMARK");
        assert.equal((end.object as KubeObject).metadata?.annotations?.[INITIAL_EVENTS_END], "true");
        assert.ok(rvOf(end.object as KubeObject) >= rvOf(p2));
        const p3 = await store.create(podsDef, pod("a", `p3${resourceVersion}`));
        await waitFor(
          () => events.some((e) => e.type === "ADDED" && rvOf(e.object as KubeObject) === rvOf(p3)),
          5000,
          "live event after the initial ones",
        );
        assert.equal(events.filter((e) => e.type === "ADDED").length, present.length + 1, "no object twice");
      }
      // A plain watch from "" is a consistent read too (etcd here, as the cache lags), with no bookmark.
      await store.create(nodesDef, { kind: "Node", metadata: { name: "n2" } });
      const present = (await store.list(podsDef, {})).items.map((o) => `ADDED ${o.metadata?.name}`);
      const plain = collect(await store.watch(podsDef, {}));
      assert.deepEqual(names(plain), present);
    } finally {
      await store.close();
    }
  });

  test("a resourceVersion older than the cache's history gets an ERROR event with 410 Expired", async (t) => {
    const b = backend();
    if (!backendOr(t, b)) return;
    const store = EtcdObjectStore.connect({ endpoints: [b.endpoint], prefix: freshPrefix(), historySize: 3 });
    try {
      await store.list(podsDef, { resourceVersion: "0" }); // starts the cache before the writes
      await waitFor(() => store.stats().resources[0]?.resourceVersion !== 0, 15_000, "cache start");
      const rvs: number[] = [];
      for (let i = 0; i < 6; i++) rvs.push(rvOf(await store.create(podsDef, pod("a", `p${i}`))));
      await waitFor(() => store.stats().resources[0]!.resourceVersion >= rvs[5]!, 15_000, "cache catch-up");
      const oldest = store.stats().resources[0]!.oldestWatchableRv;
      assert.equal(oldest, rvs[2]);
      const expired = collect(await store.watch(podsDef, { resourceVersion: String(rvs[0]) }));
      assert.equal(expired.length, 1);
      assert.equal(expired[0]!.type, "ERROR");
      const status = expired[0]!.object as Status;
      assert.equal(status.code, 410);
      assert.equal(status.reason, "Expired");
      assert.equal(status.message, `too old resource version: ${rvs[0]} (${oldest})`);
      const ok = collect(await store.watch(podsDef, { resourceVersion: String(oldest) }));
      assert.deepEqual(names(ok), ["ADDED p3", "ADDED p4", "ADDED p5"]);
    } finally {
      await store.close();
    }
  });

  test("a client that read before the cache started can watch from its resourceVersion", async (t) => {
    const b = backend();
    if (!backendOr(t, b)) return;
    const prefix = freshPrefix();
    const writer = EtcdObjectStore.connect({ endpoints: [b.endpoint], prefix });
    const store = EtcdObjectStore.connect({ endpoints: [b.endpoint], prefix });
    try {
      const first = await writer.create(podsDef, pod("a", "p0"));
      for (let i = 1; i < 4; i++) await writer.create(podsDef, pod("a", `p${i}`));
      await writer.delete(podsDef, "a", "p2");
      // The reading store's cache starts only now, after those writes.
      const events = collect(await store.watch(podsDef, { resourceVersion: String(rvOf(first)) }));
      await waitFor(() => events.length === 4, 15_000, "replayed events");
      assert.deepEqual(names(events), ["ADDED p1", "ADDED p2", "ADDED p3", "DELETED p2"]);
      await store.startCaches([podsDef, nodesDef]);
      assert.equal(store.stats().etcdWatchStreams, 2);
    } finally {
      await writer.close();
      await store.close();
    }
  });

  test("after losing etcd past a compaction the cache lists again and ends its watchers with 410", async (t) => {
    const b = backend();
    if (!backendOr(t, b)) return;
    const prefix = freshPrefix();
    const proxy = await startProxy(b.endpoint);
    const store = EtcdObjectStore.connect({ endpoints: [proxy.endpoint], prefix });
    const writer = EtcdObjectStore.connect({ endpoints: [b.endpoint], prefix });
    const raw = EtcdClient.connect([b.endpoint]);
    try {
      await store.create(podsDef, pod("a", "p0"));
      const events = collect(await store.watch(podsDef, { resourceVersion: "0" }));
      await waitFor(() => events.length === 1, 15_000, "initial event");
      proxy.cut();
      await writer.create(podsDef, pod("a", "p1"));
      await writer.delete(podsDef, "a", "p0");
      const compactedAt = Number(await writer.currentResourceVersion());
      await raw.compact(compactedAt);
      proxy.resume();
      await waitFor(() => events.at(-1)?.type === "ERROR", 20_000, "the watcher to be ended");
      const status = events.at(-1)!.object as Status;
      assert.equal(status.code, 410);
      assert.match(status.message ?? "", /^too old resource version: \d+ \(\d+\)$/);
      assert.deepEqual(names(events.slice(0, -1)), ["ADDED p0"], "nothing from the gap is made up");
      const fresh = collect(await store.watch(podsDef, { resourceVersion: "0" }));
      assert.deepEqual(names(fresh), ["ADDED p1"]);
      assert.ok(store.stats().resources[0]!.oldestWatchableRv >= compactedAt);
    } finally {
      raw.close();
      await writer.close();
      await store.close();
      await proxy.close();
    }
  });

  test("1000 watchers share one etcd watch; a slow watcher is ended without holding up the others", async (t) => {
    const b = backend();
    if (!backendOr(t, b)) return;
    const store = EtcdObjectStore.connect({
      endpoints: [b.endpoint],
      prefix: freshPrefix(),
      watcherBufferSize: 5,
    });
    try {
      const watchers = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          store.watch(podsDef, i % 2 === 0 ? { namespace: `ns${i % 10}` } : { labelSelector: `w=${i % 5}` }),
        ),
      );
      const counts = new Array<number>(1000).fill(0);
      for (const [i, w] of watchers.entries()) {
        w.onEvent(() => {
          counts[i]!++;
        });
      }
      let release: () => void = () => {};
      const slowEvents: Array<WatchEvent<KubeObject>> = [];
      const slow = await store.watch(podsDef, {});
      slow.onEvent((e) => {
        slowEvents.push(e);
        return new Promise<void>((r) => {
          release = r;
        });
      });
      for (let i = 0; i < 20; i++)
        await store.create(podsDef, pod(`ns${i % 10}`, `p${i}`, { w: String(i % 5) }));
      // Even watchers see 2 pods of their namespace, odd ones 4 pods of their label.
      await waitFor(() => counts.every((c, i) => c === (i % 2 === 0 ? 2 : 4)), 20_000, "fan-out");
      const stats = store.stats();
      assert.equal(stats.etcdWatchCreates, 1);
      assert.equal(stats.etcdWatchStreams, 1);
      assert.equal(stats.resources.length, 1);
      await waitFor(
        () => store.stats().resources[0]!.watchers === 1000,
        5000,
        "the slow watcher to be dropped",
      );
      release();
      await waitFor(() => slowEvents.length === 2, 15_000, "the slow watcher's ERROR");
      assert.equal(slowEvents[1]!.type, "ERROR");
      assert.equal((slowEvents[1]!.object as Status).code, 410);
      for (const w of watchers) w.stop();
      assert.equal(store.stats().resources[0]!.watchers, 0);
    } finally {
      await store.close();
    }
  });
});

describe("real etcd 3.4 restarting", () => {
  let etcd: Backend | undefined;
  before(async () => {
    if (haveEtcd) etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  test("the cache resumes its etcd watch after the server comes back, and watchers carry on", async (t) => {
    if (!backendOr(t, etcd)) return;
    const store = EtcdObjectStore.connect({ endpoints: [etcd.endpoint], prefix: freshPrefix() });
    try {
      await store.create(podsDef, pod("a", "before"));
      const events = collect(await store.watch(podsDef, { resourceVersion: "0" }));
      await waitFor(() => events.length === 1, 15_000, "initial event");
      await etcd.restart!();
      // Writes go through once the client reconnects; the cache's new watch picks them up.
      await waitFor(
        () =>
          store.create(podsDef, pod("a", "after")).then(
            () => true,
            () => false,
          ),
        10_000,
        "a write after the restart",
      );
      await waitFor(() => events.length === 2, 20_000, "the event after the restart");
      assert.deepEqual(names(events), ["ADDED before", "ADDED after"]);
      const stats = store.stats();
      assert.ok(stats.etcdWatchCreates >= 2, `watch resumed (${stats.etcdWatchCreates} creates)`);
      assert.equal(stats.etcdWatchStreams, 1);
    } finally {
      await store.close();
    }
  });
});
