// The event recorder against a real apiserver: identical events aggregate into one Event whose
// count and lastTimestamp grow; different messages or objects make new Events; cluster-scoped
// objects' events go to "default"; a deleted Event is written anew with its count kept.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { EventRecorder, FakeClock, type RestClient } from "../../src/client/index.js";
import { startCluster, type TestCluster } from "./cluster.js";

const EVENTS = { group: "", version: "v1", resource: "events" };

describe("event recorder", () => {
  let cluster: TestCluster;
  let client: RestClient;
  before(async () => {
    cluster = await startCluster();
    client = cluster.client();
  });
  after(async () => {
    await cluster?.close();
  });

  test("aggregates identical events with count and lastTimestamp", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    const failures: string[] = [];
    const recorder = new EventRecorder(client, {
      component: "test-controller",
      host: "h1",
      clock,
      log: (m) => failures.push(m),
    });
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web-1", namespace: "default", uid: "u-1", resourceVersion: "5" },
    };
    for (let i = 0; i < 3; i++) {
      recorder.event(pod, "Warning", "FailedScheduling", "0/3 nodes are available");
      clock.advance(2000);
    }
    recorder.event(pod, "Normal", "Scheduled", "Successfully assigned default/web-1 to n1");
    recorder.event(
      { apiVersion: "v1", kind: "Node", metadata: { name: "n1", uid: "n-1" } },
      "Normal",
      "Ready",
      "ok",
    );
    await recorder.flush();
    assert.deepEqual(failures, []);
    const events = (await client.resource(EVENTS, "default").list()).items;
    const failed = events.filter((e) => e.reason === "FailedScheduling");
    assert.equal(failed.length, 1, "three identical events are one Event");
    const ev = failed[0]!;
    assert.equal(ev.count, 3);
    assert.equal(ev.type, "Warning");
    assert.equal(ev.firstTimestamp, "2026-01-01T12:00:00Z");
    assert.equal(ev.lastTimestamp, "2026-01-01T12:00:04Z");
    assert.deepEqual(ev.source, { component: "test-controller", host: "h1" });
    assert.deepEqual(ev.involvedObject, {
      kind: "Pod",
      apiVersion: "v1",
      namespace: "default",
      name: "web-1",
      uid: "u-1",
      resourceVersion: "5",
    });
    assert.match(ev.metadata?.name ?? "", /^web-1\.[0-9a-f]+$/);
    assert.equal(events.filter((e) => e.reason === "Scheduled").length, 1);
    const nodeEvent = events.find((e) => e.reason === "Ready");
    assert.equal(nodeEvent?.involvedObject.name, "n1", "cluster-scoped objects' events land in default");

    // The Event is gone (TTL or deleted): the next occurrence writes it anew, count kept.
    await client.resource(EVENTS, "default").delete(ev.metadata?.name ?? "");
    recorder.event(pod, "Warning", "FailedScheduling", "0/3 nodes are available");
    await recorder.flush();
    const again = (await client.resource(EVENTS, "default").list()).items.filter(
      (e) => e.reason === "FailedScheduling",
    );
    assert.equal(again.length, 1);
    assert.equal(again[0]?.count, 4);
    assert.equal(again[0]?.firstTimestamp, "2026-01-01T12:00:00Z");
  });

  test("write failures are logged, never thrown", async () => {
    const failures: string[] = [];
    const recorder = new EventRecorder(client, { component: "c", log: (m) => failures.push(m) });
    recorder.event({ kind: "Pod", name: "x", namespace: "no-such-namespace" }, "Normal", "R", "m");
    await recorder.flush();
    assert.equal(failures.length, 1);
    assert.match(failures[0]!, /Pod\/x/);
  });
});
