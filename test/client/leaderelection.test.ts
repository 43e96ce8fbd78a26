// Leader election on a real apiserver's Lease with short durations (lease 1 s, renew deadline
// 0.5 s, retry 0.2 s): one leader at a time, takeover after the leader stops renewing, release on
// stop, and a leader that loses its lease stops leading.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { FakeClock, LEASES, LeaderElector, microTime, type RestClient } from "../../src/client/index.js";
import { waitFor } from "../support/require.js";
import { startCluster, type TestCluster } from "./cluster.js";

const MICROTIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

interface Candidate {
  elector: LeaderElector;
  events: string[];
  leadSignal?: AbortSignal;
}

function candidate(client: RestClient, name: string, identity: string, releaseOnCancel = false): Candidate {
  const c: Candidate = { events: [] } as unknown as Candidate;
  c.elector = new LeaderElector({
    client,
    namespace: "kube-system",
    name,
    identity,
    leaseDurationMs: 1000,
    renewDeadlineMs: 500,
    retryPeriodMs: 200,
    releaseOnCancel,
    callbacks: {
      onStartedLeading: (signal) => {
        c.leadSignal = signal;
        c.events.push("started");
      },
      onStoppedLeading: () => c.events.push("stopped"),
      onNewLeader: (id) => c.events.push(`leader ${id}`),
    },
  });
  return c;
}

describe("leader election", () => {
  let cluster: TestCluster;
  let client: RestClient;
  before(async () => {
    cluster = await startCluster();
    client = cluster.client();
  });
  after(async () => {
    await cluster?.close();
  });

  test("microTime has six fractional digits", () => {
    assert.equal(microTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), "2024-01-02T03:04:05.678000Z");
  });

  test("exactly one of two candidates leads; the other takes over when the leader stops renewing", async () => {
    const a = candidate(client, "ctrl", "a");
    const b = candidate(client, "ctrl", "b");
    const leases = client.resource<KubeObject>(LEASES, "kube-system");
    let both = false;
    const watchBoth = setInterval(() => {
      if (a.elector.isLeader() && b.elector.isLeader()) both = true;
    }, 5);
    const runs = [a.elector.run(), b.elector.run()];
    try {
      await waitFor(() => a.elector.isLeader() || b.elector.isLeader(), 5000, "a leader");
      const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
      const leaderId = leader === a ? "a" : "b";
      const followerId = leader === a ? "b" : "a";
      let lease = await leases.get("ctrl");
      assert.equal(lease.spec.holderIdentity, leaderId);
      assert.equal(lease.spec.leaseDurationSeconds, 1);
      assert.match(lease.spec.renewTime, MICROTIME);
      assert.match(lease.spec.acquireTime, MICROTIME);
      const firstRenew = lease.spec.renewTime;
      const transitions = lease.spec.leaseTransitions;
      // The leader keeps renewing; the follower stays out for several lease durations' worth of retries.
      await waitFor(async () => (await leases.get("ctrl")).spec.renewTime !== firstRenew, 3000, "a renewal");
      await waitFor(() => follower.events.includes(`leader ${leaderId}`), 3000, "follower sees the leader");
      assert.equal(follower.elector.isLeader(), false);
      assert.equal(follower.elector.getLeader(), leaderId);

      // Stop the leader without releasing: the follower must wait for expiry, then take over.
      await leader.elector.stop();
      assert.deepEqual(
        leader.events.filter((e) => e === "started" || e === "stopped"),
        ["started", "stopped"],
      );
      assert.equal(leader.leadSignal?.aborted, true);
      await waitFor(() => follower.elector.isLeader(), 5000, "takeover");
      lease = await leases.get("ctrl");
      assert.equal(lease.spec.holderIdentity, followerId);
      assert.equal(lease.spec.leaseTransitions, transitions + 1);
      assert.ok(follower.events.includes("started"));
      assert.equal(both, false, "never two leaders at once");
    } finally {
      clearInterval(watchBoth);
      await Promise.all([a.elector.stop(), b.elector.stop()]);
      await Promise.all(runs);
    }
  });

  test("releaseOnCancel hands the lease back on stop", async () => {
    const a = candidate(client, "released", "a", true);
    const run = a.elector.run();
    await waitFor(() => a.elector.isLeader(), 5000, "a leads");
    await a.elector.stop();
    await run;
    const lease = await client.resource<KubeObject>(LEASES, "kube-system").get("released");
    assert.equal(lease.spec.holderIdentity, "");
    // A newcomer need not wait for expiry: its very first attempt succeeds.
    const b = candidate(client, "released", "b");
    void b.elector.run();
    try {
      await waitFor(() => b.elector.isLeader(), 1000, "b leads at once");
    } finally {
      await b.elector.stop();
    }
  });

  test("a leader whose lease is taken stops leading within the renew deadline", async () => {
    const a = candidate(client, "stolen", "a");
    void a.elector.run();
    try {
      await waitFor(() => a.elector.isLeader(), 5000, "a leads");
      const leases = client.resource<KubeObject>(LEASES, "kube-system");
      const lease = await leases.get("stolen");
      await leases.update({
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: "intruder",
          leaseDurationSeconds: 3600,
          renewTime: microTime(Date.now()),
        },
      });
      await waitFor(() => !a.elector.isLeader(), 3000, "a to step down");
      assert.ok(a.events.includes("stopped"));
      assert.equal(a.leadSignal?.aborted, true);
      assert.equal(a.elector.getLeader(), "intruder");
    } finally {
      await a.elector.stop();
    }
  });

  test("on fake clocks: expiry is judged by each candidate's own observation time", async () => {
    const clockA = new FakeClock();
    const clockB = new FakeClock();
    const make = (identity: string, clock: FakeClock) =>
      new LeaderElector({
        client,
        namespace: "kube-system",
        name: "fake-clock",
        identity,
        clock,
        callbacks: { onStartedLeading: () => {} },
      });
    const a = make("a", clockA);
    const b = make("b", clockB);
    void a.run();
    await waitFor(() => a.isLeader() && clockA.pending() === 1, 5000, "a leads and sleeps");
    void b.run();
    await waitFor(() => b.getLeader() === "a" && clockB.pending() === 1, 5000, "b observes a");
    // a's clock stands still, so a never renews; b takes over once 15 s of its own time have passed
    // since it first saw the record (retries are 2 s with up to 20% jitter).
    let elapsed = 0;
    while (!b.isLeader()) {
      clockB.advance(2400);
      elapsed += 2400;
      await waitFor(() => b.isLeader() || clockB.pending() === 1, 5000, "b's next attempt");
      assert.ok(elapsed <= 20_000, "b should have taken over by now");
    }
    assert.ok(elapsed >= 15_000, `b took over after ${elapsed} ms, before the lease expired`);
    // a wakes to renew, finds b holding a live lease, and gives up after the 10 s renew deadline.
    let aElapsed = 0;
    while (a.isLeader()) {
      clockA.advance(2000);
      aElapsed += 2000;
      await waitFor(() => !a.isLeader() || clockA.pending() === 1, 5000, "a's next renewal");
      assert.ok(aElapsed <= 14_000, "a should have stepped down by now");
    }
    assert.ok(aElapsed >= 10_000, `a stepped down after ${aElapsed} ms`);
    await Promise.all([a.stop(), b.stop()]);
  });

  test("bad timing configuration is refused", () => {
    assert.throws(
      () =>
        new LeaderElector({
          client,
          namespace: "kube-system",
          name: "x",
          identity: "a",
          leaseDurationMs: 1000,
          renewDeadlineMs: 2000,
          callbacks: { onStartedLeading: () => {} },
        }),
      /leaseDuration must be longer than renewDeadline/,
    );
  });
});
