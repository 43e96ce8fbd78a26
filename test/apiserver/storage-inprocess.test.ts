// InProcessEtcdClient (the object store's client for an embedded kite store) against EtcdClient
// over gRPC on the same store: the same answers for every call the object store makes, the same
// watch events, etcd's error texts, and an EtcdObjectStore working over it end to end.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubeObject, WatchEvent } from "../../src/api/index.js";
import { compactRound } from "../../src/apiserver/storage/compactor.js";
import type { WatchEventWire, WatchResponseWire } from "../../src/apiserver/storage/etcd-client.js";
import {
  EtcdClient,
  type EtcdKv,
  EtcdObjectStore,
  InProcessEtcdClient,
  prefixEnd,
} from "../../src/apiserver/storage/index.js";
import type { KvService } from "../../src/store/index.js";
import { type Harness, startHarness } from "../etcdapi/harness.js";
import { waitFor } from "../support/require.js";
import { freshPrefix, pod, podsDef } from "./storage-backends.js";

const b = (s: string) => Buffer.from(s);

/** An answer with what may differ between transports (cluster/member ids, enum spelling) normalized. */
function comparable(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v) => {
      // gRPC also names the set member of a oneof ("response": "response_range").
      if (["cluster_id", "member_id", "raft_term", "lease", "response"].includes(key)) return undefined;
      if (v && typeof v === "object" && v.type === "Buffer" && Array.isArray(v.data))
        return Buffer.from(v.data).toString("utf8");
      return v;
    }),
  );
}

function eventsOf(call: ReturnType<EtcdKv["openWatch"]>, start: number, key: string) {
  const responses: WatchResponseWire[] = [];
  call.on("data", (r) => responses.push(r));
  call.on("error", () => {});
  call.write({
    create_request: { key: b(key), range_end: prefixEnd(b(key)), start_revision: String(start) },
  });
  return responses;
}

function summary(e: WatchEventWire): string {
  const type = e.type === 1 || String(e.type).toUpperCase() === "DELETE" ? "DELETE" : "PUT";
  return `${type} ${e.kv.key.toString()} @${e.kv.mod_revision} ${e.kv.value.toString()}`;
}

describe("InProcessEtcdClient", () => {
  let h: Harness;
  let grpc: EtcdClient;
  let direct: InProcessEtcdClient;
  before(async () => {
    h = await startHarness();
    grpc = EtcdClient.connect([h.endpoint]);
    direct = new InProcessEtcdClient(h.store);
  });
  after(async () => {
    grpc.close();
    direct.close();
    await h.stop();
  });

  test("answers ranges and txns as the gRPC API does", async () => {
    const p = freshPrefix();
    const put = (key: string, value: string, rev = "0") => ({
      compare: [{ key: b(key), result: 0 as const, target: 2 as const, mod_revision: rev }],
      success: [{ request_put: { key: b(key), value: b(value) } }],
      failure: [{ request_range: { key: b(key) } }],
    });
    const created = await direct.txn(put(`${p}/a`, "1"));
    assert.equal(created.succeeded, true);
    await grpc.txn(put(`${p}/b`, "2"));
    const rev = created.header.revision;
    // A failed compare answers the current value in both.
    const [f1, f2] = [await direct.txn(put(`${p}/a`, "x")), await grpc.txn(put(`${p}/a`, "x"))];
    assert.equal(f1.succeeded, false);
    assert.deepEqual(comparable(f1.responses), comparable(f2.responses));
    const updated = await direct.txn(put(`${p}/a`, "3", rev));
    assert.equal(updated.succeeded, true);
    const requests = [
      { key: b(`${p}/a`) },
      { key: b(`${p}/`), range_end: prefixEnd(b(`${p}/`)) },
      { key: b(`${p}/`), range_end: prefixEnd(b(`${p}/`)), limit: 1 },
      { key: b(`${p}/`), range_end: prefixEnd(b(`${p}/`)), count_only: true },
      { key: b(`${p}/a`), revision: Number(rev) },
    ];
    for (const req of requests) {
      const [x, y] = [await direct.range(req), await grpc.range(req)];
      assert.deepEqual(comparable(x), comparable(y), JSON.stringify(req));
      assert.ok(Buffer.isBuffer(x.kvs[0]?.key ?? Buffer.alloc(0)), "keys are Buffers");
    }
    const del = {
      compare: [{ key: b(`${p}/b`), result: 0 as const, target: 2 as const, mod_revision: "0" }],
      success: [],
      failure: [{ request_delete_range: { key: b(`${p}/b`) } }],
    };
    const gone = await direct.txn(del);
    assert.equal(gone.succeeded, false);
    assert.equal(gone.responses[0]?.response_delete_range?.deleted, "1");
  });

  test("fails with etcd's texts for compacted and future revisions", async () => {
    const p = freshPrefix();
    const first = await direct.txn({
      compare: [],
      success: [{ request_put: { key: b(`${p}/k`), value: b("1") } }],
      failure: [],
    });
    const old = Number(first.header.revision);
    await direct.txn({
      compare: [],
      success: [{ request_put: { key: b(`${p}/k`), value: b("2") } }],
      failure: [],
    });
    await direct.compact(old + 1);
    for (const c of [direct, grpc]) {
      await assert.rejects(
        c.range({ key: b(`${p}/k`), revision: old }),
        /required revision has been compacted/,
      );
      await assert.rejects(
        c.range({ key: b(`${p}/k`), revision: 1e9 }),
        /required revision is a future revision/,
      );
    }
  });

  test("watches deliver the same events in the same order; a compacted start is canceled", async () => {
    const p = freshPrefix();
    const start = Number((await direct.range({ key: b(`${p}/`) })).header.revision) + 1;
    const [dc, gc] = [direct.openWatch(), grpc.openWatch()];
    const [fromDirect, fromGrpc] = [eventsOf(dc, start, `${p}/`), eventsOf(gc, start, `${p}/`)];
    for (let i = 0; i < 20; i++) {
      await direct.txn({
        compare: [],
        success: [{ request_put: { key: b(`${p}/k${i % 3}`), value: b(String(i)) } }],
        failure: [],
      });
    }
    await direct.txn({
      compare: [],
      success: [{ request_delete_range: { key: b(`${p}/k0`) } }],
      failure: [],
    });
    const events = (rs: WatchResponseWire[]) => rs.flatMap((r) => r.events.map(summary));
    await waitFor(
      () => events(fromDirect).length === 21 && events(fromGrpc).length === 21,
      5000,
      "21 events",
    );
    assert.equal(fromDirect[0]?.created, true, "created comes first");
    assert.deepEqual(events(fromDirect), events(fromGrpc));
    dc.cancel();
    gc.cancel();

    const compacted = direct.openWatch();
    const answers = eventsOf(compacted, 1, `${p}/`);
    await waitFor(() => answers.some((r) => r.canceled), 5000, "a canceled answer");
    const canceled = answers.find((r) => r.canceled)!;
    assert.notEqual(canceled.compact_revision, "0");
  });

  test("closing ends open watches with an error and refuses calls", async () => {
    const client = new InProcessEtcdClient(h.store);
    const call = client.openWatch();
    let error: Error | undefined;
    call.on("error", (err) => {
      error = err;
    });
    call.on("data", () => {});
    call.write({ create_request: { key: b("/x"), range_end: b("/y") } });
    client.close();
    assert.match(error?.message ?? "", /closed/);
    await assert.rejects(client.range({ key: b("/x") }), /closed/);
  });
});

describe("EtcdObjectStore.inProcess", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  test("creates, updates with conflicts, lists, pages and watches", async () => {
    const store = EtcdObjectStore.inProcess(h.store, { prefix: freshPrefix() });
    try {
      const created = await store.create(podsDef, pod("ns", "p1", { app: "a" }));
      await assert.rejects(store.create(podsDef, pod("ns", "p1")), /already exists/);
      const updated = await store.update(podsDef, { ...created, spec: { ...created.spec, nodeName: "n1" } });
      assert.ok(Number(updated.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));
      await assert.rejects(store.update(podsDef, created), (err: { code?: number }) => err.code === 409);
      const events: Array<WatchEvent<KubeObject>> = [];
      const watch = await store.watch(podsDef, {
        namespace: "ns",
        resourceVersion: updated.metadata?.resourceVersion,
      });
      watch.onEvent((e) => {
        events.push(e);
      });
      for (let i = 2; i <= 5; i++) await store.create(podsDef, pod("ns", `p${i}`, {}, `n${i}`));
      await store.delete(podsDef, "ns", "p1");
      await waitFor(() => events.length === 5, 5000, "5 events");
      assert.deepEqual(
        events.map((e) => `${e.type} ${(e.object as KubeObject).metadata?.name}`),
        ["ADDED p2", "ADDED p3", "ADDED p4", "ADDED p5", "DELETED p1"],
      );
      watch.stop();
      const page = await store.list(podsDef, { namespace: "ns", limit: 2 });
      assert.equal(page.items.length, 2);
      const rest = await store.list(podsDef, { namespace: "ns", limit: 10, continue: page.continue });
      assert.deepEqual(
        [...page.items, ...rest.items].map((o) => o.metadata?.name),
        ["p2", "p3", "p4", "p5"],
      );
      const onNode = await store.list(podsDef, { fieldSelector: "spec.nodeName=n3" });
      assert.deepEqual(
        onNode.items.map((o) => o.metadata?.name),
        ["p3"],
      );
    } finally {
      await store.close();
    }
  });
});

/** The store with watch deliveries that can be held back, so a watch cache falls behind on purpose. */
function laggingService(store: KvService) {
  const held: Array<() => void> = [];
  const state = { hold: false };
  const service = new Proxy(store, {
    get(target, prop) {
      if (prop === "watch")
        return (req: Parameters<KvService["watch"]>[0], sink: Parameters<KvService["watch"]>[1]) =>
          target.watch(req, (d) => {
            if (!state.hold) return sink(d);
            held.push(() => sink(d));
            return true;
          });
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    service,
    hold: () => {
      state.hold = true;
    },
    release: () => {
      state.hold = false;
      for (const deliver of held.splice(0)) deliver();
    },
  };
}

describe("optimistic updates from the watch cache (in-process store)", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  test("a stale cached copy fails the swap and the update is redone on the stored value", async () => {
    const prefix = freshPrefix();
    const lag = laggingService(h.store);
    const store = EtcdObjectStore.inProcess(lag.service, { prefix });
    const other = EtcdObjectStore.inProcess(h.store, { prefix });
    try {
      const created = await store.create(podsDef, pod("ns", "p", { v: "1" }));
      await store.startCaches([podsDef]);
      await waitFor(
        async () => (await store.list(podsDef, { resourceVersion: "0" })).items.length === 1,
        5000,
        "cached",
      );
      lag.hold();
      // Behind the cache's back: label v=2, then x=1.
      await other.guaranteedUpdate(podsDef, "ns", "p", (o) => ({
        ...o,
        metadata: { ...o.metadata, labels: { v: "2" } },
      }));
      const seen: string[] = [];
      const both = await store.guaranteedUpdate(podsDef, "ns", "p", (o) => {
        seen.push(o.metadata?.labels?.v ?? "");
        return { ...o, spec: { ...o.spec, nodeName: "n1" } };
      });
      assert.deepEqual(seen, ["1", "2"], "first the cached copy, then the stored one");
      assert.equal(both.metadata?.labels?.v, "2");
      assert.equal(both.spec?.nodeName, "n1");

      // A no-op against a stale copy is checked against the store: no write, the stored version back.
      const before = await other.guaranteedUpdate(podsDef, "ns", "p", (o) => ({
        ...o,
        metadata: { ...o.metadata, labels: { v: "3" } },
      }));
      const same = await store.guaranteedUpdate(podsDef, "ns", "p", (o) => ({
        ...o,
        metadata: { ...o.metadata, labels: { v: "3" } },
      }));
      assert.equal(same.metadata?.resourceVersion, before.metadata?.resourceVersion);

      // A refusal based on a stale copy is not trusted either.
      await other.guaranteedUpdate(podsDef, "ns", "p", (o) => ({
        ...o,
        metadata: { ...o.metadata, labels: { v: "4" } },
      }));
      const refusedOnce = await store.guaranteedUpdate(podsDef, "ns", "p", (o) => {
        if (o.metadata?.labels?.v !== "4") throw new Error("stale");
        return { ...o, metadata: { ...o.metadata, labels: { v: "5" } } };
      });
      assert.equal(refusedOnce.metadata?.labels?.v, "5");
      await assert.rejects(
        store.guaranteedUpdate(podsDef, "ns", "p", () => {
          throw new Error("always");
        }),
        /always/,
      );
      // Deleted behind the cache's back: 404, as without the cache.
      await other.delete(podsDef, "ns", "p");
      await assert.rejects(
        store.guaranteedUpdate(podsDef, "ns", "p", (o) => o),
        (err: { code?: number }) => err.code === 404,
      );
      assert.ok(Number(created.metadata?.resourceVersion) > 0);
    } finally {
      lag.release();
      await store.close();
      await other.close();
    }
  });
});

describe("compaction (upstream's compactor)", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  test("compacts to the revision of the previous round; a second apiserver's round is skipped", async () => {
    const a = new InProcessEtcdClient(h.store);
    const b = EtcdClient.connect([h.endpoint]);
    try {
      const put = (v: string) =>
        a.txn({
          compare: [],
          success: [{ request_put: { key: Buffer.from("/c/k"), value: Buffer.from(v) } }],
          failure: [],
        });
      const first = await put("1");
      // First round: nothing seen before, nothing compacted.
      let state = await compactRound(a, { version: 0, revision: 0 });
      assert.equal(state.version, 1);
      const seen = state.revision;
      assert.ok(seen >= Number(first.header.revision));
      await a.range({ key: Buffer.from("/c/k"), revision: Number(first.header.revision) });
      await put("2");
      // Another apiserver that still thinks the version is 0 loses the race and follows.
      const other = await compactRound(b, { version: 0, revision: 0 });
      assert.equal(other.version, 1);
      state = await compactRound(a, state);
      assert.equal(state.version, 2);
      await assert.rejects(a.range({ key: Buffer.from("/c/k"), revision: seen - 1 }), /compacted/);
      assert.equal(
        (await a.range({ key: Buffer.from("/c/k"), revision: seen })).kvs[0]?.value.toString(),
        "1",
      );
      // A round whose revision is already compacted is not an error.
      await compactRound(a, { version: state.version, revision: seen });
    } finally {
      a.close();
      b.close();
    }
  });
});
