import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Registry } from "prom-client";
import type { KubeObject } from "../../src/api/types.js";
import { FakeClock } from "../../src/client/clock.js";
import {
  EvictionManager,
  memoryAvailableFromProcMeminfo,
  type PodUsage,
  rankForMemoryEviction,
} from "../../src/kubelet/eviction.js";
import { waitFor } from "../support/require.js";

const MI = 1024 * 1024;

function usage(
  name: string,
  memoryMi: number,
  requestMi?: number,
  extra: Record<string, unknown> = {},
): PodUsage {
  const resources = requestMi === undefined ? {} : { requests: { memory: `${requestMi}Mi` } };
  const pod: KubeObject = {
    metadata: { name, namespace: "default", uid: `uid-${name}` },
    spec: { containers: [{ name: "c", resources }], ...extra },
  };
  return { pod, memoryBytes: memoryMi * MI };
}

const names = (list: PodUsage[]) => list.map((u) => u.pod.metadata!.name);

test("rankForMemoryEviction: over-request first, then lower priority, then most above request", () => {
  const ranked = rankForMemoryEviction([
    usage("within-request", 50, 100),
    usage("over-small", 120, 100),
    usage("over-big-high-priority", 900, 100, { priority: 1000 }),
    usage("besteffort-big", 400),
    usage("besteffort-small", 10),
    usage("low-priority-within", 10, 100, { priority: -5 }),
  ]);
  assert.deepEqual(names(ranked), [
    "besteffort-big",
    "over-small",
    "besteffort-small",
    "over-big-high-priority",
    "low-priority-within",
    "within-request",
  ]);
});

test("EvictionManager: pressure, one eviction per check with upstream's message, metric, pressure clears", async (t) => {
  const clock = new FakeClock();
  const registry = new Registry();
  let available = 500 * MI;
  const pods = [
    usage("critical", 900, undefined, { priority: 2_000_000_000 }),
    usage("burstable", 300, 100),
    usage("guaranteed", 90, 100),
  ];
  const evicted: Array<[string, string]> = [];
  const pressure: boolean[] = [];
  let checks = 0;
  const manager = new EvictionManager({
    clock,
    registry,
    memoryAvailableBytes: async () => {
      checks++;
      return available;
    },
    podUsage: async () => pods.filter((p) => !evicted.some(([n]) => n === p.pod.metadata!.name)),
    evict: async (pod, message) => {
      evicted.push([pod.metadata!.name!, message]);
    },
    onPressureChange: (p) => pressure.push(p),
  });
  t.after(() => manager.stop());
  manager.start();
  const step = async (n: number) => {
    clock.advance(10_000);
    await waitFor(() => checks === n, 5000, `check ${n}`);
    await new Promise((r) => setImmediate(r));
  };
  await step(1);
  assert.deepEqual(pressure, []);
  available = 50 * MI + 4096;
  await step(2);
  assert.deepEqual(pressure, [true]);
  assert.deepEqual(evicted, [
    [
      "burstable",
      "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51204Ki. Container c was using 300Mi, request is 100Mi, has larger consumption of memory. ",
    ],
  ]);
  await step(3);
  assert.equal(evicted.length, 2);
  assert.equal(evicted[1]![0], "guaranteed", "critical pods are never evicted");
  assert.match(
    evicted[1]![1],
    /available: 51204Ki\. $/,
    "no container line when usage is within the request",
  );
  await step(4);
  assert.equal(evicted.length, 2, "nothing left to evict");
  assert.match(await registry.metrics(), /kubelet_evictions\{eviction_signal="memory.available"\} 2/);
  available = 100 * MI;
  await step(5);
  assert.deepEqual(pressure, [true, false]);
  manager.stop();
  assert.equal(clock.pending(), 0);
});

test("a failed eviction moves on to the next pod; pressureTransitionPeriodMs delays clearing", async () => {
  const clock = new FakeClock();
  let available = 10 * MI;
  const tried: string[] = [];
  const pressure: boolean[] = [];
  const manager = new EvictionManager({
    clock,
    thresholdBytes: 64 * MI,
    pressureTransitionPeriodMs: 30_000,
    memoryAvailableBytes: async () => available,
    podUsage: async () => [usage("a", 500, 10), usage("b", 400, 10)],
    evict: async (pod) => {
      tried.push(pod.metadata!.name!);
      if (pod.metadata!.name === "a") throw new Error("kill failed");
    },
    onPressureChange: (p) => pressure.push(p),
  });
  await manager.checkOnce();
  assert.deepEqual(tried, ["a", "b"]);
  available = 100 * MI;
  await manager.checkOnce();
  assert.deepEqual(pressure, [true], "still within the transition period");
  clock.advance(30_000);
  await manager.checkOnce();
  assert.deepEqual(pressure, [true, false]);
});

test("memoryAvailableFromProcMeminfo reads MemAvailable", async (t) => {
  const dir = await fs.mkdtemp(join(tmpdir(), "kite-meminfo-"));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const file = join(dir, "meminfo");
  await fs.writeFile(
    file,
    "MemTotal:       16318412 kB\nMemFree:         1000000 kB\nMemAvailable:    8123456 kB\n",
  );
  assert.equal(await memoryAvailableFromProcMeminfo(file), 8123456 * 1024);
  const real = await memoryAvailableFromProcMeminfo();
  assert.ok(real > 0);
});
