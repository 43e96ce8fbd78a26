// Watch over real HTTP: chunked JSON events, Table events, bookmarks only when asked for,
// streaming lists (sendInitialEvents) with their end bookmark, validation, and timeoutSeconds.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../support/require.js";
import { type RestHarness, startRest } from "./rest-harness.js";

let h: RestHarness;
before(async () => {
  h = await startRest();
});
after(async () => {
  await h?.stop();
});

const cmPath = "/api/v1/namespaces/default/configmaps";
const tableAccept =
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const create = async (name: string, labels: Record<string, string> = {}) => {
  const r = await h.request("POST", cmPath, { body: { metadata: { name, labels }, data: { v: "1" } } });
  assert.equal(r.status, 201, r.text);
  return r.body;
};

describe("watch", () => {
  test("list then watch from its resourceVersion sees ADDED, MODIFIED and DELETED", async () => {
    await create("w0");
    const list = await h.request("GET", `${cmPath}`);
    const w = await h.watch(`${cmPath}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`);
    try {
      assert.equal(w.status, 200);
      assert.equal(w.headers["content-type"], "application/json");
      assert.equal(w.headers["transfer-encoding"], "chunked");
      await create("w1");
      await h.request("PATCH", `${cmPath}/w1`, {
        body: { data: { v: "2" } },
        contentType: "application/merge-patch+json",
      });
      await h.request("DELETE", `${cmPath}/w1`);
      await w.waitForEvents(3);
      assert.deepEqual(
        w.events.map((e) => [e.type, e.object.kind, e.object.apiVersion, e.object.metadata.name]),
        [
          ["ADDED", "ConfigMap", "v1", "w1"],
          ["MODIFIED", "ConfigMap", "v1", "w1"],
          ["DELETED", "ConfigMap", "v1", "w1"],
        ],
      );
      assert.equal(w.events[1].object.data.v, "2");
    } finally {
      w.close();
    }
  });

  test("a watch without resourceVersion starts with the current objects; selectors filter", async () => {
    await create("sel-a", { team: "a" });
    await create("sel-b", { team: "b" });
    const w = await h.watch(`${cmPath}?watch=1&labelSelector=team%3Da`);
    try {
      await w.waitForEvents(1);
      await create("sel-a2", { team: "a" });
      await create("sel-b2", { team: "b" });
      await w.waitForEvents(2);
      assert.deepEqual(
        w.events.map((e) => [e.type, e.object.metadata.name]),
        [
          ["ADDED", "sel-a"],
          ["ADDED", "sel-a2"],
        ],
      );
    } finally {
      w.close();
    }
  });

  test("Table events: one row each, column definitions only in the first", async () => {
    const rv = (await h.request("GET", cmPath)).body.metadata.resourceVersion;
    const w = await h.watch(`${cmPath}?watch=true&resourceVersion=${rv}`, tableAccept);
    try {
      await create("t1");
      await create("t2");
      await w.waitForEvents(2);
      const [first, second] = w.events;
      assert.equal(first.type, "ADDED");
      assert.equal(first.object.kind, "Table");
      assert.equal(first.object.apiVersion, "meta.k8s.io/v1");
      assert.deepEqual(
        first.object.columnDefinitions.map((c: { name: string }) => c.name),
        ["Name", "Data", "Age"],
      );
      assert.equal(first.object.rows.length, 1);
      assert.equal(first.object.rows[0].cells[0], "t1");
      assert.equal(first.object.rows[0].object.kind, "PartialObjectMetadata");
      assert.equal(second.object.columnDefinitions, null);
      assert.equal(second.object.rows[0].cells[0], "t2");
    } finally {
      w.close();
    }
  });

  test("a watch of one named object", async () => {
    const w = await h.watch("/api/v1/watch/namespaces/default/configmaps/t1");
    try {
      await w.waitForEvents(1);
      await h.request("PATCH", `${cmPath}/t1`, {
        body: { data: { v: "9" } },
        contentType: "application/merge-patch+json",
      });
      await h.request("PATCH", `${cmPath}/t2`, {
        body: { data: { v: "9" } },
        contentType: "application/merge-patch+json",
      });
      await w.waitForEvents(2);
      assert.deepEqual(
        w.events.map((e) => [e.type, e.object.metadata.name]),
        [
          ["ADDED", "t1"],
          ["MODIFIED", "t1"],
        ],
      );
    } finally {
      w.close();
    }
  });

  test("BOOKMARKs only when allowWatchBookmarks=true", async () => {
    const rv = (await h.request("GET", cmPath)).body.metadata.resourceVersion;
    const marked = await h.watch(`${cmPath}?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`);
    const plain = await h.watch(`${cmPath}?watch=true&resourceVersion=${rv}`);
    try {
      await create("bm1");
      await marked.waitForEvents(2, "an event and a bookmark");
      await plain.waitForEvents(1);
      const bookmark = marked.events.find((e) => e.type === "BOOKMARK");
      assert.ok(bookmark, JSON.stringify(marked.events));
      assert.equal(bookmark.object.kind, "ConfigMap");
      assert.match(bookmark.object.metadata.resourceVersion, /^\d+$/);
      await create("bm2");
      await plain.waitForEvents(2);
      assert.ok(plain.events.every((e) => e.type !== "BOOKMARK"));
    } finally {
      marked.close();
      plain.close();
    }
  });

  test("sendInitialEvents streams the state and ends it with the initial-events-end bookmark", async () => {
    const names = (await h.request("GET", cmPath)).body.items.map(
      (i: { metadata: { name: string } }) => i.metadata.name,
    );
    const w = await h.watch(
      `${cmPath}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
    );
    try {
      await w.waitForEvents(names.length + 1);
      const added = w.events.slice(0, names.length);
      assert.ok(added.every((e) => e.type === "ADDED"));
      assert.deepEqual(added.map((e) => e.object.metadata.name).sort(), [...names].sort());
      const end = w.events[names.length];
      assert.equal(end.type, "BOOKMARK");
      assert.equal(end.object.metadata.annotations["k8s.io/initial-events-end"], "true");
    } finally {
      w.close();
    }
  });

  test("watch options are validated as upstream does", async () => {
    const noMatch = await h.request(
      "GET",
      `${cmPath}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true`,
    );
    assert.equal(noMatch.status, 422);
    assert.equal(
      noMatch.body.message,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    );
    const noBookmarks = await h.request(
      "GET",
      `${cmPath}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`,
    );
    assert.equal(noBookmarks.status, 422);
    assert.match(
      noBookmarks.body.message,
      /allowWatchBookmarks: Forbidden: allowWatchBookmarks must be set to true when sendInitialEvents is provided/,
    );
    const listInitial = await h.request("GET", `${cmPath}?sendInitialEvents=true`);
    assert.equal(listInitial.status, 422);
    assert.match(
      listInitial.body.message,
      /sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list/,
    );
    const badSelector = await h.request("GET", `${cmPath}?watch=true&fieldSelector=nope%3Dx`);
    assert.equal(badSelector.status, 400);
  });

  test("a resourceVersion older than the watch history ends with a 410 Expired ERROR", async () => {
    const small = await startRest({}, { historySize: 3 });
    try {
      const first = await small.request("POST", cmPath, { body: { metadata: { name: "old0" } } });
      // Start the resource's watch cache, then push the first version out of its history.
      const warm = await small.watch(
        `${cmPath}?watch=true&resourceVersion=${first.body.metadata.resourceVersion}`,
      );
      warm.close();
      for (let i = 1; i <= 8; i++)
        await small.request("POST", cmPath, { body: { metadata: { name: `old${i}` } } });
      const w = await small.watch(
        `${cmPath}?watch=true&resourceVersion=${first.body.metadata.resourceVersion}`,
      );
      if (w.status === 200) {
        await w.waitForEvents(1);
        const status = w.events[0];
        assert.equal(status.type, "ERROR");
        assert.equal(status.object.kind, "Status");
        assert.equal(status.object.code, 410);
        assert.equal(status.object.reason, "Expired");
        await waitFor(() => w.ended, 5000, "the stream to end after the ERROR");
      } else {
        assert.equal(w.status, 410);
      }
    } finally {
      await small.stop();
    }
  });

  test("timeoutSeconds ends the stream", async () => {
    const started = Date.now();
    const w = await h.watch(`${cmPath}?watch=true&timeoutSeconds=1&resourceVersion=0`);
    await w.waitForEvents(1);
    await (async () => {
      const until = Date.now() + 5000;
      while (!w.ended && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    })();
    assert.ok(w.ended, "the server ended the watch");
    assert.ok(Date.now() - started >= 900, "not before the timeout");
    const rec = h.records.find((r) => r.verb === "WATCH" && r.durationSeconds >= 0.9);
    assert.ok(rec, "the finished watch is reported");
  });
});
