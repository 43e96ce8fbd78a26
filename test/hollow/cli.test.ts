import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { KubeObject } from "../../src/api/index.js";
import { parseDurationMs, parseHollowFlags } from "../../src/cli/commands/hollow.js";
import { RestClient } from "../../src/client/index.js";
import { startKiteServer } from "../apiserver/kubectl-support.js";
import { waitFor } from "../support/require.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const PODS = { group: "", version: "v1", resource: "pods" };
const NODES = { group: "", version: "v1", resource: "nodes" };

describe("kite hollow flags", () => {
  test("parse with defaults and clear errors", () => {
    const flags = parseHollowFlags([
      "--kubeconfig=/k",
      "--nodes",
      "7",
      "--cpu",
      "4",
      "--labels",
      "a=b",
      "--taints",
      "x=y:NoSchedule",
      "--lease-interval",
      "500ms",
    ]);
    assert.equal(flags.nodes, 7);
    assert.equal(flags.shape.cpu, "4");
    assert.equal(flags.shape.memory, "256Gi");
    assert.deepEqual(flags.shape.labels, { a: "b" });
    assert.deepEqual(flags.shape.taints, [{ key: "x", value: "y", effect: "NoSchedule" }]);
    assert.equal(flags.leaseIntervalMs, 500);
    assert.equal(flags.statusIntervalMs, 10_000);
    assert.equal(flags.podCompletionMs, 5_000);
    assert.equal(parseDurationMs("--x", "2m"), 120_000);
    assert.throws(() => parseHollowFlags(["--nodes", "1"]), /--kubeconfig is required/);
    assert.throws(() => parseHollowFlags(["--kubeconfig", "/k"]), /--nodes is required/);
    assert.throws(() => parseHollowFlags(["--kubeconfig", "/k", "--nodes", "-1"]), /want an integer >= 0/);
    assert.throws(() => parseHollowFlags(["--kubeconfig", "/k", "--nodes", "x"]), /want an integer/);
    assert.throws(() => parseHollowFlags(["--kubeconfig", "/k", "--nodes", "1", "--cpu", "lots"]), /--cpu/);
    assert.throws(() => parseHollowFlags(["--kubeconfig", "/k", "--nodes", "1", "--taints", "a"]), /Effect/);
    assert.throws(() => parseHollowFlags(["--kubeconfig", "/k", "--nodes", "1", "--nope"]), /unknown flag/);
  });
});

describe("kite server with kite hollow", () => {
  test("schedules pods onto hollow nodes, which run them; a Never pod completes", async () => {
    const server = await startKiteServer();
    const hollow = spawn(
      process.execPath,
      [CLI, "hollow", "--kubeconfig", server.kubeconfig, "--nodes", "3", "--pod-completion-seconds", "1"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    hollow.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    hollow.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const client = RestClient.fromKubeconfig(server.kubeconfig);
    try {
      await waitFor(() => /registered 3\/3 nodes/.test(output), 20_000, `hollow registering:\n${output}`);
      assert.match(server.output(), /scheduler started/);
      const nodes = (await client.resource(NODES).list()).items.map((n) => n.metadata?.name).sort();
      assert.deepEqual(nodes, ["hollow-0", "hollow-1", "hollow-2"]);
      const pods = client.resource(PODS, "default");
      const make = (name: string, restartPolicy: string): KubeObject => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name },
        spec: { restartPolicy, containers: [{ name: "c", image: "nginx" }] },
      });
      await pods.create(make("web", "Always"));
      await pods.create(make("task", "Never"));
      await waitFor(async () => (await pods.get("web")).status?.phase === "Running", 20_000, "web Running");
      assert.match((await pods.get("web")).spec.nodeName, /^hollow-\d$/);
      await waitFor(
        async () => (await pods.get("task")).status?.phase === "Succeeded",
        20_000,
        "task Succeeded",
      );
      const stopped = new Promise<number | null>((resolve) => hollow.once("exit", (code) => resolve(code)));
      if (hollow.pid !== undefined) process.kill(hollow.pid, "SIGTERM");
      assert.equal(await stopped, 0);
    } finally {
      if (hollow.pid !== undefined && hollow.exitCode === null && hollow.signalCode === null)
        process.kill(hollow.pid, "SIGKILL");
      client.close();
      await server.stop();
    }
  });
});
