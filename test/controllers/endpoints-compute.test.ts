import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import {
  desiredSlices,
  desiredSubsets,
  MAX_ENDPOINTS_PER_SLICE,
} from "../../src/controllers/endpoints/index.js";

function svc(ports: Array<Record<string, unknown>>): KubeObject {
  return { metadata: { name: "s", namespace: "ns" }, spec: { selector: { app: "a" }, ports } };
}

function runningPod(
  name: string,
  ip: string | undefined,
  ready: boolean,
  extra: Partial<KubeObject> = {},
): KubeObject {
  return {
    metadata: { name, namespace: "ns", uid: `uid-${name}`, labels: { app: "a" }, ...(extra.metadata ?? {}) },
    spec: {
      nodeName: "n1",
      containers: [
        {
          name: "c",
          ports: [
            { name: "web", containerPort: 8080 },
            { name: "dns", containerPort: 53, protocol: "UDP" },
          ],
        },
      ],
      ...(extra.spec ?? {}),
    },
    status: {
      phase: "Running",
      ...(ip ? { podIP: ip } : {}),
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

describe("endpoints computation", () => {
  test("named, numeric and protocol-specific target ports; pods lacking the port are grouped apart", () => {
    const s = svc([
      { name: "http", port: 80, targetPort: "web" },
      { name: "dns", port: 53, targetPort: "dns", protocol: "UDP" },
      { name: "raw", port: 9000, targetPort: 9001 },
    ]);
    const other = runningPod("b", "10.0.0.2", true, { spec: { containers: [{ name: "c", ports: [] }] } });
    const subsets = desiredSubsets(s, [runningPod("a", "10.0.0.1", true), other]);
    assert.equal(subsets.length, 2);
    const full = subsets.find((x) => x.ports?.length === 3);
    assert.deepEqual(full?.ports, [
      { name: "http", port: 8080, protocol: "TCP" },
      { name: "dns", port: 53, protocol: "UDP" },
      { name: "raw", port: 9001, protocol: "TCP" },
    ]);
    const onlyRaw = subsets.find((x) => x.ports?.length === 1);
    assert.deepEqual(
      onlyRaw?.addresses?.map((a) => a.ip),
      ["10.0.0.2"],
    );
  });

  test("pods without an IP, finished pods and terminating pods are left out of Endpoints", () => {
    const s = svc([{ name: "http", port: 80, targetPort: "web" }]);
    const pods = [
      runningPod("ok", "10.0.0.1", true),
      runningPod("noip", undefined, true),
      runningPod("gone", "10.0.0.3", true, { metadata: { deletionTimestamp: "2026-01-01T00:00:00Z" } }),
      {
        ...runningPod("done", "10.0.0.4", false),
        spec: { ...runningPod("x", "", false).spec, restartPolicy: "Never" },
        status: { phase: "Succeeded", podIP: "10.0.0.4" },
      },
      runningPod("slow", "10.0.0.5", false),
    ];
    const [subset] = desiredSubsets(s, pods);
    assert.deepEqual(
      subset?.addresses?.map((a) => a.ip),
      ["10.0.0.1"],
    );
    assert.deepEqual(
      subset?.notReadyAddresses?.map((a) => a.ip),
      ["10.0.0.5"],
    );
  });

  test("slices keep terminating pods with their conditions, and split at the per-slice maximum", () => {
    const s = svc([{ name: "http", port: 80, targetPort: "web" }]);
    const term = runningPod("t", "10.0.0.9", true, {
      metadata: { deletionTimestamp: "2026-01-01T00:00:00Z" },
    });
    const [slice] = desiredSlices(s, [term]);
    assert.deepEqual(slice?.endpoints[0]?.conditions, { ready: false, serving: true, terminating: true });
    const many = Array.from({ length: MAX_ENDPOINTS_PER_SLICE + 5 }, (_, i) =>
      runningPod(`p${String(i).padStart(3, "0")}`, `10.0.1.${i % 250}`, true),
    );
    const slices = desiredSlices(s, many);
    assert.deepEqual(
      slices.map((x) => x.endpoints.length),
      [MAX_ENDPOINTS_PER_SLICE, 5],
    );
  });

  test("the result does not depend on pod order (no churn from cache ordering)", () => {
    const s = svc([{ name: "http", port: 80, targetPort: "web" }]);
    const pods = [
      runningPod("a", "10.0.0.2", true),
      runningPod("b", "10.0.0.1", false),
      runningPod("c", "10.0.0.3", true),
    ];
    assert.deepEqual(desiredSubsets(s, pods), desiredSubsets(s, [...pods].reverse()));
    assert.deepEqual(desiredSlices(s, pods), desiredSlices(s, [...pods].reverse()));
  });
});
