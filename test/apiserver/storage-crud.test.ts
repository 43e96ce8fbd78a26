// EtcdObjectStore writes, reads and lists against real etcd 3.4 and kite's store: Txn semantics,
// upstream's error wording, key layout, selectors, paging with continue, resourceVersion rules.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { isStatusError, type KubeObject } from "../../src/api/index.js";
import { EtcdClient, EtcdObjectStore } from "../../src/apiserver/storage/index.js";
import { waitFor } from "../support/require.js";
import {
  backendOr,
  deploymentsDef,
  forEachBackend,
  freshPrefix,
  nodesDef,
  pod,
  podsDef,
} from "./storage-backends.js";

async function rejectsWith(p: Promise<unknown>, code: number, message?: string | RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isStatusError(err), `expected a StatusError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === "string") assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

forEachBackend((backend) => {
  test("create, get, update, conflict, delete with upstream's errors and key layout", async (t) => {
    const b = backend();
    if (!backendOr(t, b)) return;
    const prefix = freshPrefix();
    const store = EtcdObjectStore.connect({ endpoints: [`http://${b.endpoint}`], prefix });
    const raw = EtcdClient.connect([b.endpoint]);
    try {
      const created = await store.create(podsDef, pod("ns1", "p1", { app: "a" }));
      const rv1 = created.metadata?.resourceVersion;
      assert.match(rv1 ?? "", /^[1-9][0-9]*$/);
      const stored = await raw.range({ key: Buffer.from(`${prefix}/core/pods/ns1/p1`) });
      assert.equal(stored.kvs.length, 1);
      assert.equal(stored.kvs[0]!.mod_revision, rv1);
      assert.equal(JSON.parse(stored.kvs[0]!.value.toString()).metadata.resourceVersion, undefined);
      await rejectsWith(store.create(podsDef, pod("ns1", "p1")), 409, 'pods "p1" already exists');
      await store.create(nodesDef, { kind: "Node", apiVersion: "v1", metadata: { name: "n1" } });
      assert.equal((await raw.range({ key: Buffer.from(`${prefix}/core/nodes/n1`) })).kvs.length, 1);
      await store.create(deploymentsDef, { kind: "Deployment", metadata: { name: "d", namespace: "ns1" } });
      assert.equal((await raw.range({ key: Buffer.from(`${prefix}/apps/deployments/ns1/d`) })).kvs.length, 1);

      const got = await store.get(podsDef, "ns1", "p1");
      assert.deepEqual(got, created);
      await rejectsWith(store.get(podsDef, "ns1", "nope"), 404, 'pods "nope" not found');
      await rejectsWith(store.get(deploymentsDef, "ns1", "nope"), 404, 'deployments.apps "nope" not found');
      await rejectsWith(store.get(podsDef, "ns1", "a/b"), 400, /may not contain '\/'/);

      const changed = { ...got, spec: { ...got.spec, nodeName: "n1" } };
      const updated = await store.update(podsDef, changed);
      assert.ok(Number(updated.metadata?.resourceVersion) > Number(rv1));
      await rejectsWith(
        store.update(podsDef, changed),
        409,
        'Operation cannot be fulfilled on pods "p1": the object has been modified; please apply your changes to the latest version and try again',
      );
      await rejectsWith(
        store.update(podsDef, {
          ...pod("ns1", "ghost"),
          metadata: { name: "ghost", namespace: "ns1", resourceVersion: rv1 },
        }),
        404,
      );
      const unconditional = await store.update(podsDef, { ...pod("ns1", "p1", { app: "b" }) });
      assert.equal(unconditional.metadata?.labels?.app, "b");

      // guaranteedUpdate: concurrent increments all land; a no-op writes nothing.
      await store.create(podsDef, { ...pod("ns1", "counter"), status: { n: 0 } });
      await Promise.all(
        Array.from({ length: 8 }, () =>
          store.guaranteedUpdate(podsDef, "ns1", "counter", (cur) => ({
            ...cur,
            status: { n: cur.status.n + 1 },
          })),
        ),
      );
      const counter = await store.get(podsDef, "ns1", "counter");
      assert.equal(counter.status.n, 8);
      const same = await store.guaranteedUpdate(podsDef, "ns1", "counter", (cur) => cur);
      assert.equal(same.metadata?.resourceVersion, counter.metadata?.resourceVersion);
      await rejectsWith(
        store.guaranteedUpdate(podsDef, "ns1", "ghost", (c) => c),
        404,
      );

      const current = await store.get(podsDef, "ns1", "p1");
      await rejectsWith(
        store.delete(podsDef, "ns1", "p1", { uid: "other" }),
        409,
        `Operation cannot be fulfilled on pods "p1": StorageError: invalid object, Code: 4, Key: ${prefix}/core/pods/ns1/p1, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: other, UID in object meta: uid-p1`,
      );
      await rejectsWith(
        store.delete(podsDef, "ns1", "p1", { resourceVersion: rv1 }),
        409,
        /Precondition failed: ResourceVersion in precondition: \d+, ResourceVersion in object meta: \d+$/,
      );
      const deleted = await store.delete(podsDef, "ns1", "p1", {
        uid: "uid-p1",
        resourceVersion: current.metadata?.resourceVersion,
      });
      assert.deepEqual(deleted, current);
      await rejectsWith(store.get(podsDef, "ns1", "p1"), 404);
      await rejectsWith(store.delete(podsDef, "ns1", "p1"), 404);
      assert.match(await store.currentResourceVersion(), /^[1-9][0-9]*$/);
    } finally {
      raw.close();
      await store.close();
    }
  });

  test("list: selectors, paging with continue and remainingItemCount, resourceVersion rules", async (t) => {
    const b = backend();
    if (!backendOr(t, b)) return;
    const store = EtcdObjectStore.connect({
      endpoints: [b.endpoint],
      prefix: freshPrefix(),
      freshnessTimeoutMs: 300,
    });
    try {
      let lastRv = 0;
      for (let i = 0; i < 7; i++)
        lastRv = await store
          .create(
            podsDef,
            pod(i < 5 ? "a" : "b", `p${i}`, { tier: i % 2 === 0 ? "even" : "odd" }, i < 3 ? "n1" : "n2"),
          )
          .then((o) => Number(o.metadata?.resourceVersion));
      // "0" may be served stale; let the cache catch up so the cache path is the one paged below.
      await waitFor(() =>
        store.stats().resources.some((r) => r.resource === "pods" && r.resourceVersion >= lastRv),
      );
      const names = (items: KubeObject[]) => items.map((o) => o.metadata?.name);
      const all = await store.list(podsDef, {});
      assert.deepEqual(names(all.items), ["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
      assert.deepEqual(names((await store.list(podsDef, { namespace: "b" })).items), ["p5", "p6"]);
      assert.deepEqual(names((await store.list(podsDef, { labelSelector: "tier=odd" })).items), [
        "p1",
        "p3",
        "p5",
      ]);
      assert.deepEqual(
        names((await store.list(podsDef, { labelSelector: "tier in (odd),tier!=x", namespace: "a" })).items),
        ["p1", "p3"],
      );
      assert.deepEqual(names((await store.list(podsDef, { fieldSelector: "spec.nodeName=n1" })).items), [
        "p0",
        "p1",
        "p2",
      ]);
      assert.deepEqual(
        names((await store.list(podsDef, { fieldSelector: "spec.nodeName!=n1,metadata.namespace=a" })).items),
        ["p3", "p4"],
      );
      await rejectsWith(
        store.list(podsDef, { fieldSelector: "spec.bogus=1" }),
        400,
        "field label not supported: spec.bogus",
      );
      await rejectsWith(
        store.list(deploymentsDef, { fieldSelector: "spec.replicas=1" }),
        400,
        /not a known field selector/,
      );
      await rejectsWith(store.list(podsDef, { labelSelector: "a b" }), 400);

      // Paging from etcd (consistent) and from the cache ("0") hands out the same kind of tokens.
      for (const resourceVersion of ["", "0"]) {
        const seen: string[] = [];
        let page = await store.list(podsDef, { limit: 3, resourceVersion });
        assert.equal(page.remainingItemCount, 4);
        seen.push(...names(page.items).map(String));
        while (page.continue) {
          const token = JSON.parse(Buffer.from(page.continue, "base64url").toString());
          assert.equal(token.v, "meta.k8s.io/v1");
          assert.equal(token.rv, Number(page.resourceVersion));
          page = await store.list(podsDef, { limit: 3, continue: page.continue });
          seen.push(...names(page.items).map(String));
        }
        assert.deepEqual(seen, ["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
      }
      const filtered = await store.list(podsDef, { limit: 2, labelSelector: "tier=even" });
      assert.deepEqual(names(filtered.items), ["p0", "p2"]);
      assert.equal(filtered.remainingItemCount, undefined);
      assert.deepEqual(
        names(
          (await store.list(podsDef, { limit: 2, labelSelector: "tier=even", continue: filtered.continue }))
            .items,
        ),
        ["p4", "p6"],
      );
      await rejectsWith(store.list(podsDef, { continue: "!!" }), 400, /^invalid continue token/);
      await rejectsWith(store.list(podsDef, { continue: filtered.continue, resourceVersion: "5" }), 400);

      // Exact reads the past; NotOlderThan waits for the future, then 504.
      const before = all.resourceVersion;
      await store.delete(podsDef, "a", "p0");
      assert.equal(
        (await store.list(podsDef, { resourceVersion: before, resourceVersionMatch: "Exact" })).items.length,
        7,
      );
      assert.equal((await store.list(podsDef, {})).items.length, 6);
      const current = Number(await store.currentResourceVersion());
      assert.equal(
        (
          await store.list(podsDef, {
            resourceVersion: String(current),
            resourceVersionMatch: "NotOlderThan",
          })
        ).items.length,
        6,
      );
      const zero = await store.list(podsDef, { resourceVersion: "0" });
      assert.ok(Number(zero.resourceVersion) > 0);
      await rejectsWith(
        store.list(podsDef, { resourceVersion: String(current + 100) }),
        504,
        `Timeout: Too large resource version: ${current + 100}, current: ${current}`,
      );
      await rejectsWith(store.list(podsDef, { resourceVersion: "x" }), 400);
    } finally {
      await store.close();
    }
  });

  test("apiserver_storage_objects counts each started resource's objects", async (t) => {
    const b = backend();
    if (!backendOr(t, b)) return;
    const registry = new Registry();
    const store = EtcdObjectStore.connect({
      endpoints: [b.endpoint],
      prefix: freshPrefix(),
      metricsRegistry: registry,
    });
    try {
      for (let i = 0; i < 3; i++) await store.create(podsDef, pod("a", `p${i}`));
      await store.create(deploymentsDef, { kind: "Deployment", metadata: { name: "d", namespace: "a" } });
      await waitFor(
        async () => {
          const text = await registry.metrics();
          return (
            text.includes('apiserver_storage_objects{resource="pods"} 3') &&
            text.includes('apiserver_storage_objects{resource="deployments.apps"} 1')
          );
        },
        15_000,
        "the gauge",
      );
    } finally {
      await store.close();
    }
  });

  test("compaction: Exact list and continue tokens for a compacted revision answer 410", async (t) => {
    const b = backend();
    if (!backendOr(t, b)) return;
    const store = EtcdObjectStore.connect({ endpoints: [b.endpoint], prefix: freshPrefix() });
    const raw = EtcdClient.connect([b.endpoint]);
    try {
      for (let i = 0; i < 4; i++) await store.create(podsDef, pod("a", `p${i}`));
      const first = await store.list(podsDef, { limit: 2 });
      await store.create(podsDef, pod("a", "late"));
      await store.delete(podsDef, "a", "p3");
      await raw.compact(Number(await store.currentResourceVersion()));
      await rejectsWith(
        store.list(podsDef, { resourceVersion: first.resourceVersion, resourceVersionMatch: "Exact" }),
        410,
        "The resourceVersion for the provided list is too old.",
      );
      let expired: unknown;
      await store.list(podsDef, { limit: 2, continue: first.continue }).catch((err) => {
        expired = err;
      });
      assert.ok(isStatusError(expired));
      assert.equal(expired.code, 410);
      assert.equal(expired.reason, "Expired");
      assert.match(
        expired.message,
        /^The provided continue parameter is too old to display a consistent list result\. You can start a new list without the continue parameter, or use the continue token in this response/,
      );
      const resume = expired.status.metadata.continue;
      assert.ok(resume);
      assert.equal(JSON.parse(Buffer.from(resume, "base64url").toString()).rv, -1);
      const rest = await store.list(podsDef, { continue: resume });
      assert.deepEqual(
        rest.items.map((o) => o.metadata?.name),
        ["p2"],
      );
    } finally {
      raw.close();
      await store.close();
    }
  });
});
