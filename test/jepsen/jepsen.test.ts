// A short Jepsen campaign against three real kite store processes: ~16 s of concurrent get/put/txn
// load while the nemesis kills -9, partitions and pauses members; then the history must be
// linearizable and both watchers must have seen every revision once, in order. Also checks that
// the watch check itself catches gaps and duplicates.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { need } from "../support/require.js";
import { runCampaign } from "./harness.js";
import { KITE_MAIN } from "./harness-cluster.js";
import { verifyWatch, Watcher } from "./harness-watch.js";

describe("jepsen campaign against a kite store cluster", () => {
  test("kill -9, partition and pause under load: linearizable history, complete watches", {
    timeout: 180_000,
  }, async (t) => {
    if (!need(t, existsSync(KITE_MAIN), `built CLI missing at ${KITE_MAIN}`)) return;
    const lines: string[] = [];
    const result = await runCampaign({
      nodes: 3,
      clients: 6,
      durationMs: 16_000,
      seed: 20261126,
      holdMs: 1200,
      calmMs: 1200,
      checkTimeoutMs: 120_000,
      log: (line) => lines.push(line),
    });
    t.diagnostic(
      `${result.okOperations} ok ops (${result.opsPerSecond.toFixed(0)}/s), ${result.infoOperations} unknown, ` +
        `${result.failedOperations} failed; faults ${JSON.stringify(result.faults)}; ` +
        `checker ${result.checkerMs.toFixed(0)} ms; watch events ${result.watchEvents.join("/")}`,
    );
    const detail = `${result.explanation}\n${result.watchErrors.join("\n")}\nsaved to ${result.savedTo}\n${lines.join("\n")}`;
    assert.equal(result.verdict, "linearizable", detail);
    assert.deepEqual(result.watchErrors, [], detail);
    assert.ok(result.faults.kill >= 1 && result.faults.partition >= 1 && result.faults.pause >= 1, detail);
    assert.ok(result.okOperations > 100, `only ${result.okOperations} operations succeeded`);
    assert.equal(result.watchEvents[0], result.finalRevision - 1);
  });
});

describe("the watch check", () => {
  const attempted = new Map([
    ["a1", "k"],
    ["a2", "k"],
    ["b1", "j"],
  ]);
  const watcherWith = (revisions: Array<[number, string, string]>) => {
    const w = new Watcher(0, ["127.0.0.1:1"], "k");
    for (const [revision, key, value] of revisions) w.events.push({ revision, key, value, type: "PUT" });
    return w;
  };
  const final = [
    { key: "k", value: "a2", modRevision: 4 },
    { key: "j", value: "b1", modRevision: 3 },
  ];

  test("accepts every revision once, in order, ending at the final values", () => {
    const w = watcherWith([
      [2, "k", "a1"],
      [3, "j", "b1"],
      [4, "k", "a2"],
    ]);
    assert.deepEqual(verifyWatch(w, 4, final, attempted), []);
  });

  test("reports a gap, a duplicate and a value nobody wrote", () => {
    const gap = watcherWith([
      [2, "k", "a1"],
      [4, "k", "a2"],
    ]);
    assert.match(verifyWatch(gap, 4, final, attempted).join("\n"), /revision 4, expected 3 \(gap\)/);
    const dup = watcherWith([
      [2, "k", "a1"],
      [2, "k", "a1"],
      [3, "j", "b1"],
      [4, "k", "a2"],
    ]);
    assert.match(verifyWatch(dup, 4, final, attempted).join("\n"), /duplicate or out of order/);
    const forged = watcherWith([
      [2, "k", "zz"],
      [3, "j", "b1"],
      [4, "k", "a2"],
    ]);
    assert.match(verifyWatch(forged, 4, final, attempted).join("\n"), /value zz no client wrote/);
  });
});
