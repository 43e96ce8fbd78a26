// Work queue and rate limiter semantics on a fake clock: de-duplication, no concurrent processing
// of one item, backoff growth and reset, delayed adds, shutdown with drain, bounded workers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  FakeClock,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  runWorkers,
  TokenBucket,
  WorkQueue,
  WorkQueuePrometheusMetrics,
} from "../../src/client/index.js";
import { waitFor } from "../support/require.js";

describe("rate limiters", () => {
  test("per-item backoff doubles from 5 ms up to 1000 s and forget resets it", () => {
    const rl = new ItemExponentialFailureRateLimiter<string>();
    const waits = Array.from({ length: 5 }, () => rl.when("a"));
    assert.deepEqual(waits, [5, 10, 20, 40, 80]);
    assert.equal(rl.numRequeues("a"), 5);
    assert.equal(rl.when("b"), 5, "items back off independently");
    for (let i = 0; i < 40; i++) rl.when("a");
    assert.equal(rl.when("a"), 1_000_000);
    rl.forget("a");
    assert.equal(rl.numRequeues("a"), 0);
    assert.equal(rl.when("a"), 5);
  });

  test("token bucket: burst at once, then qps", () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 3, clock);
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    assert.equal(bucket.reserve(), 100);
    assert.equal(bucket.reserve(), 200);
    assert.equal(bucket.tryAccept(), false);
    clock.advance(1000);
    // 10 tokens refilled, 2 owed, capped at burst 3.
    assert.equal(bucket.tryAccept(), true);
    assert.throws(() => new TokenBucket(0, 1), /qps > 0/);
  });

  test("default controller limiter is the max of per-item backoff and the 10 qps / 100 burst bucket", () => {
    const clock = new FakeClock();
    const rl = defaultControllerRateLimiter<string>(clock);
    for (let i = 0; i < 100; i++) assert.equal(rl.when(`k${i}`), 5, "burst covers 100 first failures");
    assert.equal(rl.when("k100"), 100, "the bucket is empty: 1/10 s");
    const both = new MaxOfRateLimiter<string>(
      new ItemExponentialFailureRateLimiter<string>(1000, 10_000),
      new BucketRateLimiter<string>(new TokenBucket(100, 100, clock)),
    );
    assert.equal(both.when("x"), 1000);
    assert.equal(both.numRequeues("x"), 1);
  });
});

describe("work queue", () => {
  test("de-duplicates queued items and keeps insertion order", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    for (const k of ["a", "b", "a", "c", "b"]) q.add(k);
    assert.equal(q.len(), 3);
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ["a", "b", "c"]);
  });

  test("an item re-added while processing is handed out again only after done()", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add("a");
    const first = await q.get();
    assert.equal(first, "a");
    q.add("a");
    q.add("a");
    assert.equal(q.len(), 0, "not queued while in process");
    let second: string | undefined;
    void q.get().then((v) => {
      second = v;
    });
    await Promise.resolve();
    assert.equal(second, undefined, "a second worker must not get the item being processed");
    q.done("a");
    await waitFor(() => second === "a", 1000, "re-added item");
    q.done("a");
    assert.equal(q.len(), 0, "two re-adds collapse into one");
  });

  test("a waiting getter is woken by add", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    const got = q.get();
    q.add("x");
    assert.equal(await got, "x");
  });

  test("addAfter fires on the clock; the earlier of two delays wins", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter("a", 1000);
    q.addAfter("a", 300);
    q.addAfter("b", 500);
    clock.advance(299);
    assert.equal(q.len(), 0);
    clock.advance(1);
    assert.equal(q.len(), 1);
    clock.advance(200);
    assert.deepEqual([await q.get(), await q.get()], ["a", "b"]);
    q.done("a");
    q.done("b");
    clock.advance(10_000);
    assert.equal(q.len(), 0, "the replaced 1000 ms delay no longer fires");
  });

  test("addRateLimited backs off exponentially; forget resets", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock, rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000) });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = clock.now();
      q.addRateLimited("k");
      let waited = 0;
      while (q.len() === 0 && waited < 10_000) {
        clock.advance(1);
        waited++;
      }
      delays.push(waited);
      assert.equal(clock.now() - before, waited);
      // Take it out again so the next add is not de-duplicated.
      const k = await q.get();
      q.done(k!);
    }
    assert.deepEqual(delays, [5, 10, 20, 40]);
    assert.equal(q.numRequeues("k"), 4);
    q.forget("k");
    assert.equal(q.numRequeues("k"), 0);
  });

  test("shutdown: adds are ignored, queued items still drain, then get() ends", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.add("a");
    q.add("b");
    q.addAfter("later", 100);
    const a = await q.get();
    let drained = false;
    const drain = q.shutdownWithDrain().then(() => {
      drained = true;
    });
    q.add("c");
    clock.advance(1000);
    assert.equal(q.len(), 1, "only b remains: c was refused and the delayed add cancelled");
    assert.equal(await q.get(), "b");
    assert.equal(await q.get(), undefined);
    q.done("b");
    await Promise.resolve();
    assert.equal(drained, false, "a is still in process");
    q.done(a!);
    await drain;
    assert.equal(drained, true);
  });

  test("runWorkers: bounded concurrency, one key never processed twice at once, retries failures", async () => {
    const q = new WorkQueue<string>({ rateLimiter: new ItemExponentialFailureRateLimiter(1, 4) });
    const active = new Set<string>();
    let maxActive = 0;
    let overlap = false;
    const processed = new Map<string, number>();
    let failuresLeft = 3;
    const gates: Array<() => void> = [];
    const workers = runWorkers(q, 3, async (key) => {
      if (active.has(key)) overlap = true;
      active.add(key);
      maxActive = Math.max(maxActive, active.size);
      await new Promise<void>((r) => gates.push(r));
      active.delete(key);
      processed.set(key, (processed.get(key) ?? 0) + 1);
      if (key === "flaky" && failuresLeft-- > 0) throw new Error("transient");
      return undefined;
    });
    for (const k of ["a", "b", "c", "d", "e", "flaky"]) q.add(k);
    // Keep re-adding "a" while workers run: it must be serialized.
    for (let round = 0; round < 200 && (processed.size < 6 || (processed.get("flaky") ?? 0) < 4); round++) {
      q.add("a");
      await waitFor(() => gates.length > 0 || q.len() === 0, 2000, "a worker to start");
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(overlap, false);
    assert.ok(maxActive <= 3, `at most 3 concurrent, saw ${maxActive}`);
    assert.equal(maxActive, 3);
    assert.equal(processed.get("flaky"), 4, "three failures, then success");
    assert.equal(q.numRequeues("flaky"), 0, "success forgets the failures");
    q.shutdown();
    while (gates.length > 0) gates.shift()?.();
    const release = setInterval(() => {
      while (gates.length > 0) gates.shift()?.();
    }, 1);
    await workers;
    clearInterval(release);
  });

  test("runWorkers rejects a non-positive worker count", async () => {
    await assert.rejects(
      runWorkers(new WorkQueue<string>(), 0, () => undefined),
      /positive integer/,
    );
  });
});

describe("work queue metrics", () => {
  test("depth, adds, retries and durations under client-go's names", async () => {
    const registry = new Registry();
    const clock = new FakeClock();
    const q = new WorkQueue<string>({
      name: "deployment",
      clock,
      rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000),
      metrics: new WorkQueuePrometheusMetrics(registry),
    });
    const value = async (metric: string) => {
      const m = await registry.getSingleMetric(metric)?.get();
      return m?.values.find((v) => v.labels.name === "deployment" && !("le" in v.labels))?.value;
    };
    q.add("a");
    q.add("b");
    q.add("a");
    assert.equal(await value("workqueue_depth"), 2);
    assert.equal(await value("workqueue_adds_total"), 2);
    clock.advance(250);
    const item = await q.get();
    assert.equal(await value("workqueue_depth"), 1);
    clock.advance(1000);
    q.done(item!);
    q.addRateLimited("c");
    assert.equal(await value("workqueue_retries_total"), 1);
    const text = await registry.metrics();
    assert.match(text, /workqueue_queue_duration_seconds_sum\{name="deployment"\} 0\.25/);
    assert.match(text, /workqueue_work_duration_seconds_sum\{name="deployment"\} 1\b/);
  });
});
