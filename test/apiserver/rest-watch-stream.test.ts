// Watch event encoding shared across watchers, and batched writes to watch responses.
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { describe, test } from "node:test";
import type { KubeObject, WatchEvent } from "../../src/api/index.js";
import { builtinRegistry } from "../../src/apiserver/resources/index.js";
import { encodeJsonEvent, flushDelayMs, WatchResponseWriter } from "../../src/apiserver/rest/watch-stream.js";
import { waitFor } from "../support/require.js";

const def = builtinRegistry().lookup("", "v1", "configmaps")!;

function event(type: WatchEvent<KubeObject>["type"], name: string): WatchEvent<KubeObject> {
  return {
    type,
    object: { metadata: { name, namespace: "default", resourceVersion: "7" }, data: { a: "b" } },
  };
}

/** Just what WatchResponseWriter uses of a ServerResponse. */
function fakeResponse(unsentAfterWrite = 0, raw: Buffer[] = []) {
  const chunks: string[] = [];
  const res = {
    writableEnded: false,
    destroyed: false,
    writableLength: 0,
    write(chunk: Buffer) {
      raw.push(chunk);
      chunks.push(chunk.toString("utf8"));
      res.writableLength = unsentAfterWrite;
      return true;
    },
  };
  return { res: res as unknown as ServerResponse, chunks };
}

describe("encodeJsonEvent", () => {
  test("is the event as one JSON line with apiVersion and kind", () => {
    const line = encodeJsonEvent(def, event("ADDED", "a")).toString("utf8");
    assert.ok(line.endsWith("\n"));
    const parsed = JSON.parse(line);
    assert.equal(parsed.type, "ADDED");
    assert.equal(parsed.object.kind, "ConfigMap");
    assert.equal(parsed.object.apiVersion, "v1");
    assert.equal(parsed.object.metadata.name, "a");
    assert.deepEqual(parsed.object.data, { a: "b" });
  });

  test("encodes a shared event once: every watcher gets the same bytes", () => {
    const e = event("MODIFIED", "b");
    const first = encodeJsonEvent(def, e);
    assert.equal(encodeJsonEvent(def, e), first);
    assert.notEqual(encodeJsonEvent(def, event("MODIFIED", "b")), first);
  });

  test("does not cache per-watcher BOOKMARK and ERROR events", () => {
    const b = event("BOOKMARK", "");
    assert.notEqual(encodeJsonEvent(def, b), encodeJsonEvent(def, b));
    const err: WatchEvent<KubeObject> = {
      type: "ERROR",
      object: { kind: "Status", apiVersion: "v1", code: 410 } as unknown as KubeObject,
    };
    const parsed = JSON.parse(encodeJsonEvent(def, err).toString("utf8"));
    // An ERROR carries a Status as is, not retyped as the watched kind.
    assert.equal(parsed.object.kind, "Status");
  });
});

describe("WatchResponseWriter", () => {
  test("coalesces lines written together into one chunk, in order", async () => {
    const { res, chunks } = fakeResponse();
    const w = new WatchResponseWriter(res, 1024, () => assert.fail("not too slow"));
    for (const s of ["1\n", "2\n", "3\n"]) w.write(Buffer.from(s));
    assert.equal(chunks.length, 0, "nothing is written synchronously");
    await waitFor(() => chunks.length > 0, 5000, "a flush");
    assert.deepEqual(chunks, ["1\n2\n3\n"]);
    w.write(Buffer.from("4\n"));
    await waitFor(() => chunks.length > 1, 5000, "a second flush");
    assert.deepEqual(chunks, ["1\n2\n3\n", "4\n"]);
    w.close();
  });

  test("clients that got the same lines share one joined chunk; others get their own", async () => {
    const [a, b, c] = [[], [], []] as Buffer[][];
    const writers = [a, b, c].map((raw) => new WatchResponseWriter(fakeResponse(0, raw).res, 1024, () => {}));
    const [l1, l2, l3] = ["1\n", "2\n", "3\n"].map((s) => Buffer.from(s));
    for (const w of writers.slice(0, 2)) for (const line of [l1!, l2!]) w.write(line);
    for (const line of [l1!, l3!]) writers[2]!.write(line);
    await waitFor(() => a.length > 0 && b.length > 0 && c.length > 0, 5000, "a flush");
    assert.equal(a[0], b[0], "one Buffer for both");
    assert.equal(a[0]!.toString(), "1\n2\n");
    assert.equal(c[0]!.toString(), "1\n3\n");
    for (const w of writers) w.close();
  });

  test("a line for a few clients goes out at once; a burst to many waits to be joined", async () => {
    const tick = () => new Promise<void>((r) => setImmediate(r));
    const one = fakeResponse();
    const lone = new WatchResponseWriter(one.res, 1024, () => {});
    lone.write(Buffer.from("x\n"));
    await tick();
    await tick();
    assert.deepEqual(one.chunks, ["x\n"], "written without a timer");
    lone.close();

    const many = Array.from({ length: 100 }, () => fakeResponse());
    const writers = many.map((f) => new WatchResponseWriter(f.res, 1024, () => {}));
    for (const w of writers) w.write(Buffer.from("a\n"));
    await tick(); // the flush decision ran first, in the same turn: 100 waiting, so it waits
    for (const w of writers) w.write(Buffer.from("b\n"));
    await waitFor(() => many.every((f) => f.chunks.length > 0), 5000, "the flush");
    for (const f of many) assert.deepEqual(f.chunks, ["a\nb\n"]);
    for (const w of writers) w.close();
  });

  test("writes at once when asked, and close writes what is pending", () => {
    const { res, chunks } = fakeResponse();
    const w = new WatchResponseWriter(res, 1024, () => {});
    w.write(Buffer.from("a\n"));
    w.write(Buffer.from("err\n"), true);
    assert.deepEqual(chunks, ["a\nerr\n"]);
    w.write(Buffer.from("b\n"));
    w.close();
    assert.deepEqual(chunks, ["a\nerr\n", "b\n"]);
    w.write(Buffer.from("after close\n"), true);
    assert.deepEqual(chunks, ["a\nerr\n", "b\n"]);
  });

  test("reports a client that leaves too much unsent", () => {
    const { res } = fakeResponse(2048);
    let slow = 0;
    const w = new WatchResponseWriter(res, 1024, () => slow++);
    w.write(Buffer.from("x\n"), true);
    assert.equal(slow, 1);
    w.close();
  });
});

test("the flush delay grows with open watches and stays bounded", () => {
  assert.equal(flushDelayMs(1), 0);
  assert.equal(flushDelayMs(32), 0);
  assert.ok(flushDelayMs(200) > 0 && flushDelayMs(200) < flushDelayMs(1000));
  assert.equal(flushDelayMs(1_000_000), 50);
});
