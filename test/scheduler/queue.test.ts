import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SchedulingQueue } from "../../src/scheduler/index.js";
import { pod } from "./fixtures.js";

function setup() {
  const clock = {
    t: 1_000_000,
    now() {
      return this.t;
    },
  };
  const q = new SchedulingQueue({ clock });
  return { clock, q };
}

const names = (q: SchedulingQueue) => {
  const out: string[] = [];
  for (let p = q.pop(); p; p = q.pop()) {
    out.push(p.pod.metadata?.name as string);
    q.done(p.key);
  }
  return out;
};

describe("SchedulingQueue", () => {
  test("pops by priority, then by arrival", () => {
    const { clock, q } = setup();
    q.add(pod("low", { priority: 0 }));
    clock.t += 1;
    q.add(pod("high", { priority: 1000 }));
    clock.t += 1;
    q.add(pod("low2"));
    q.add(pod("mid", { priority: 10 }));
    assert.deepEqual(names(q), ["high", "mid", "low", "low2"]);
    assert.equal(q.pop(), undefined);
  });

  test("back-off doubles from 1 s to a 10 s cap", () => {
    const { q } = setup();
    assert.deepEqual(
      [1, 2, 3, 4, 5, 9].map((a) => q.backoffDuration(a)),
      [1000, 2000, 4000, 8000, 10000, 10000],
    );
  });

  test("an unschedulable pod waits for an event that may help, then for its back-off", () => {
    const { clock, q } = setup();
    q.add(pod("p"));
    const info = q.pop();
    assert.ok(info);
    q.addUnschedulable(info, ["NodeResourcesFit"]);
    assert.deepEqual(q.pending(), { active: 0, backoff: 0, unschedulable: 1 });
    clock.t += 60_000;
    assert.equal(q.pop(), undefined, "no event yet: stays unschedulable");
    assert.equal(q.moveAllToActive("AssignedPodAdd"), 0, "a pod add cannot free resources");
    assert.equal(q.moveAllToActive("AssignedPodDelete"), 1);
    assert.equal(q.pop()?.attempts, 2, "back-off long over: straight to active");
  });

  test("an event during back-off parks the pod in back-off until it expires", () => {
    const { clock, q } = setup();
    q.add(pod("p"));
    let info = q.pop();
    assert.ok(info);
    q.addUnschedulable(info, ["TaintToleration"]);
    clock.t += 500;
    assert.equal(q.moveAllToActive("NodeUpdate"), 1);
    assert.deepEqual(q.pending(), { active: 0, backoff: 1, unschedulable: 0 });
    assert.equal(q.nextBackoffExpiry(), 1_000_000 + 1000);
    assert.equal(q.pop(), undefined);
    clock.t += 499;
    assert.equal(q.pop(), undefined);
    clock.t += 1;
    info = q.pop();
    assert.equal(info?.attempts, 2);
    // Second failure: 2 s back-off.
    q.addUnschedulable(info as NonNullable<typeof info>, ["TaintToleration"]);
    q.moveAllToActive("NodeAdd");
    clock.t += 1999;
    assert.equal(q.pop(), undefined);
    clock.t += 1;
    assert.equal(q.pop()?.attempts, 3);
  });

  test("errors and failures that raced with an event go to back-off, not unschedulable", () => {
    const { clock, q } = setup();
    q.add(pod("a"));
    q.add(pod("b"));
    const a = q.pop();
    const b = q.pop();
    assert.ok(a && b);
    q.addUnschedulable(a, []);
    q.moveAllToActive("NodeAdd"); // arrives while b is in flight
    q.addUnschedulable(b, ["NodeResourcesFit"]);
    assert.deepEqual(q.pending(), { active: 0, backoff: 2, unschedulable: 0 });
    clock.t += 1000;
    assert.deepEqual(names(q), ["a", "b"]);
  });

  test("long-unschedulable pods are retried after 5 minutes without any event", () => {
    const { clock, q } = setup();
    q.add(pod("p"));
    q.addUnschedulable(q.pop() as NonNullable<ReturnType<SchedulingQueue["pop"]>>, ["NodeAffinity"]);
    clock.t += 5 * 60_000 - 1;
    assert.equal(q.pop(), undefined);
    clock.t += 1;
    assert.equal(q.pop()?.pod.metadata?.name, "p");
  });

  test("update re-queues an unschedulable pod and re-sorts by new priority; delete removes it", () => {
    const { clock, q } = setup();
    q.add(pod("p"));
    const info = q.pop();
    assert.ok(info);
    q.addUnschedulable(info, ["NodeAffinity"]);
    clock.t += 10_000;
    q.update(pod("p", { spec: { nodeSelector: { a: "b" } } }));
    assert.deepEqual(q.pending(), { active: 1, backoff: 0, unschedulable: 0 });
    q.add(pod("x"));
    q.update(pod("x", { priority: 5 }));
    assert.deepEqual(names(q), ["x", "p"]);
    q.add(pod("gone"));
    q.delete(pod("gone"));
    assert.equal(q.pop(), undefined);
    // A pod deleted while in flight is not re-queued by a later failure.
    q.add(pod("f"));
    const f = q.pop();
    assert.ok(f);
    q.delete(pod("f"));
    q.addUnschedulable(f, ["NodeResourcesFit"]);
    assert.deepEqual(q.pending(), { active: 0, backoff: 0, unschedulable: 0 });
  });
});
