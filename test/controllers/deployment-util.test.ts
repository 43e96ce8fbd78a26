import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import {
  computeHash,
  equalIgnoreHash,
  maxSurge,
  maxUnavailable,
  resolveFenceposts,
} from "../../src/controllers/deployment/index.js";

function rolling(replicas: number, surge: unknown, unavailable: unknown): KubeObject {
  return {
    spec: {
      replicas,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } },
    },
  };
}

describe("deployment arithmetic", () => {
  test("percentages round surge up and unavailability down", () => {
    assert.deepEqual(resolveFenceposts(rolling(10, "25%", "25%"), 10), [3, 2]);
    assert.deepEqual(resolveFenceposts(rolling(3, "25%", "25%"), 3), [1, 0]);
    assert.deepEqual(resolveFenceposts(rolling(4, 2, "50%"), 4), [2, 2]);
    // Both zero would never make progress: unavailability becomes 1.
    assert.deepEqual(resolveFenceposts(rolling(1, "0%", "10%"), 1), [0, 1]);
  });

  test("maxUnavailable is capped at replicas and zero for Recreate", () => {
    assert.equal(maxUnavailable(rolling(2, 0, 5)), 2);
    assert.equal(maxUnavailable(rolling(0, 1, 1)), 0);
    const recreate = { spec: { replicas: 3, strategy: { type: "Recreate" } } };
    assert.equal(maxUnavailable(recreate), 0);
    assert.equal(maxSurge(recreate), 0);
  });

  test("the pod-template-hash is stable, label-safe and moved by the collision count", () => {
    const template = {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "c", image: "nginx" }] },
    };
    const reordered = {
      spec: { containers: [{ image: "nginx", name: "c" }] },
      metadata: { labels: { app: "web" } },
    };
    const h = computeHash(template);
    assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    assert.equal(computeHash(reordered), h);
    assert.notEqual(computeHash(template, 1), h);
    assert.notEqual(computeHash({ ...template, spec: { containers: [{ name: "c", image: "httpd" }] } }), h);
  });

  test("templates compare equal apart from the pod-template-hash label", () => {
    const a = { metadata: { labels: { app: "web", "pod-template-hash": "abc" } }, spec: { x: 1 } };
    const b = { metadata: { labels: { app: "web" } }, spec: { x: 1 } };
    assert.equal(equalIgnoreHash(a, b), true);
    assert.equal(equalIgnoreHash(a, { ...b, spec: { x: 2 } }), false);
  });
});
