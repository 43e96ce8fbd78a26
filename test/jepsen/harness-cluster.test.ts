// The Jepsen cluster's process handling: a fault signal (SIGUSR2) sent while a restarted store
// is still starting must not kill it (SIGUSR2's default action, before the store's handler is
// installed, silently took members down in long campaigns until no quorum was left), and a
// member that dies by a signal the harness did not send counts as crashed.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { need, waitFor } from "../support/require.js";
import { KITE_MAIN, type Member, StoreProcessCluster } from "./harness-cluster.js";

const READY = "ready to serve client requests";
const servesClients = (m: Member) => m.log.join("").includes(READY);

describe("the jepsen store cluster", () => {
  test("a fault sent while a restarted member starts is applied once it is up, not fatal", {
    timeout: 60_000,
  }, async (t) => {
    if (!need(t, existsSync(KITE_MAIN), `built CLI missing at ${KITE_MAIN}`)) return;
    const cluster = new StoreProcessCluster();
    try {
      await cluster.start(1);
      const m = cluster.members[0] as Member;
      await waitFor(() => servesClients(m), 20_000, "the first process to serve clients");
      const firstPid = m.proc.pid;
      m.log.length = 0;
      const restarted = cluster.killAndRestart(m, 0);
      await waitFor(() => m.proc.pid !== firstPid, 10_000, "the restart");
      assert.ok(!servesClients(m), "the new process should still be starting");
      cluster.healAll(); // writes "heal" and signals: must wait for the fault hook
      await restarted;
      await waitFor(
        () => m.log.join("").includes('applied fault spec "heal"') || !StoreProcessCluster.running(m),
        20_000,
        "the deferred fault signal",
      );
      assert.ok(StoreProcessCluster.running(m), `member died:\n${m.log.join("")}`);
      assert.deepEqual(cluster.crashed(), []);
    } finally {
      cluster.close();
    }
  });

  test("a member killed by a signal the harness did not send is reported as crashed", {
    timeout: 60_000,
  }, async (t) => {
    if (!need(t, existsSync(KITE_MAIN), `built CLI missing at ${KITE_MAIN}`)) return;
    const cluster = new StoreProcessCluster();
    try {
      await cluster.start(1);
      const m = cluster.members[0] as Member;
      await waitFor(() => servesClients(m), 20_000, "the process to serve clients");
      await cluster.killAndRestart(m, 0); // an expected SIGKILL is not a crash
      assert.deepEqual(cluster.crashed(), []);
      process.kill(m.proc.pid as number, "SIGHUP");
      await waitFor(() => !StoreProcessCluster.running(m), 10_000, "the process to exit");
      await waitFor(() => cluster.crashed().length > 0, 5_000, "the exit to be recorded");
      assert.match(cluster.crashed()[0] as string, /^n1: pid \d+ signal SIGHUP/);
    } finally {
      cluster.close();
    }
  });
});
