import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isStatusError, type KubeObject } from "../../src/api/index.js";
import { builtinRegistry, seededRandom } from "../../src/apiserver/resources/index.js";
import type { ResourceDef } from "../../src/apiserver/types.js";

const palette: unknown[] = [null, -1, "x", true, [], {}, [null], ["x"], [{}], { a: 5 }];

const paths = [
  "metadata",
  "metadata.name",
  "metadata.labels",
  "metadata.annotations",
  "metadata.finalizers",
  "metadata.creationTimestamp",
  "metadata.deletionTimestamp",
  "spec",
  "spec.containers",
  "spec.containers.0",
  "spec.containers.0.ports",
  "spec.containers.0.resources",
  "spec.containers.0.resources.limits",
  "spec.initContainers",
  "spec.volumes",
  "spec.tolerations",
  "spec.selector",
  "spec.selector.matchLabels",
  "spec.selector.matchExpressions",
  "spec.template",
  "spec.template.metadata",
  "spec.template.spec",
  "spec.template.spec.containers",
  "spec.jobTemplate",
  "spec.jobTemplate.spec",
  "spec.ports",
  "spec.ports.0",
  "spec.clusterIP",
  "spec.clusterIPs",
  "spec.type",
  "spec.strategy",
  "spec.strategy.rollingUpdate",
  "spec.updateStrategy",
  "spec.rules",
  "spec.schedule",
  "spec.replicas",
  "status",
  "status.conditions",
  "status.containerStatuses",
  "status.initContainerStatuses",
  "status.containerStatuses.0.state",
  "status.hard",
  "status.loadBalancer",
  "data",
  "stringData",
  "binaryData",
  "subsets",
  "subsets.0.ports",
  "endpoints",
  "ports",
  "roleRef",
  "subjects",
  "rules",
  "involvedObject",
  "series",
  "spec.containers.0.image",
  "spec.containers.0.name",
  "spec.containers.0.env",
  "spec.containers.0.livenessProbe",
  "spec.containers.0.volumeMounts",
  "spec.ports.0.port",
  "spec.ports.0.targetPort",
  "metadata.labels.a",
  "spec.template.metadata.labels",
  "status.containerStatuses.0",
  "status.containerStatuses.0.lastState",
  "spec.readinessGates",
  "status.podIPs",
  "status.addresses",
  "status.nodeInfo",
  "status.capacity",
  "spec.sessionAffinity",
  "subjects.0",
  "rules.0",
  "rules.0.verbs",
  "spec.rules.0.http.paths",
  "spec.rules.0.http.paths.0.backend",
  "spec.tls",
  "status.active",
  "spec.completions",
  "spec.parallelism",
  "spec.finalizers",
  "spec.limits",
];

function base(def: ResourceDef): KubeObject {
  const container = {
    name: "c",
    image: "nginx",
    ports: [{ containerPort: 80 }],
    resources: { limits: { cpu: "1" } },
  };
  const podSpec = { containers: [container], restartPolicy: "OnFailure" };
  return {
    apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
    kind: def.kind,
    metadata: { name: "x", namespace: def.namespaced ? "default" : undefined, uid: "u", labels: { a: "b" } },
    spec: {
      ...podSpec,
      selector: { matchLabels: { a: "b" } },
      template: { metadata: { labels: { a: "b" } }, spec: structuredClone(podSpec) },
      jobTemplate: { spec: { template: { spec: structuredClone(podSpec) } } },
      ports: [{ port: 80, nodePort: 30000 }],
      schedule: "* * * * *",
      rules: [
        {
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: "s", port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
    status: {
      phase: "Running",
      containerStatuses: [{ name: "c", state: { running: {} } }],
      hard: { cpu: "1" },
    },
    data: { k: "v" },
    subsets: [{ addresses: [{ ip: "10.0.0.1" }], ports: [{ port: 80 }] }],
    endpoints: [{ addresses: ["10.0.0.1"] }],
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "r" },
    subjects: [{ kind: "User", name: "u" }],
    rules: [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }],
    involvedObject: { kind: "Pod", name: "x" },
  };
}

function setPath(obj: KubeObject, path: string, value: unknown): void {
  const keys = path.split(".");
  let cur: Record<string, unknown> = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== "object") return;
    cur = next as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = structuredClone(value);
}

function run(def: ResourceDef, obj: KubeObject, old: KubeObject): void {
  const now = new Date("2024-05-01T00:00:00Z");
  try {
    def.defaults?.(obj);
    def.prepareForCreate?.(obj, { now, dryRun: false });
    def.validate?.(obj, undefined);
    def.table?.cells(obj, now);
    const upd = structuredClone(obj);
    def.defaults?.(upd);
    def.prepareForUpdate?.(upd, old, { now, dryRun: false });
    def.validate?.(upd, old);
    const st = structuredClone(obj);
    def.prepareForUpdate?.(st, old, { now, dryRun: false, subresource: "status" });
    def.validate?.(st, old);
  } catch (err) {
    if (!isStatusError(err)) throw err;
  }
}

describe("malformed objects", () => {
  for (const def of builtinRegistry().all()) {
    test(`${def.resource}: no crash on malformed fields`, () => {
      const random = seededRandom(42);
      const old = base(def);
      def.defaults?.(old);
      for (const path of paths) {
        for (const value of palette) {
          const obj = base(def);
          setPath(obj, path, value);
          assert.doesNotThrow(() => run(def, obj, old), `${def.resource} ${path}=${JSON.stringify(value)}`);
        }
      }
      // A few objects with several fields broken at once.
      for (let i = 0; i < 50; i++) {
        const obj = base(def);
        for (let j = 0; j < 4; j++)
          setPath(
            obj,
            paths[Math.floor(random() * paths.length)]!,
            palette[Math.floor(random() * palette.length)],
          );
        assert.doesNotThrow(() => run(def, obj, structuredClone(obj)), `${def.resource} mix ${i}`);
      }
    });
  }
});
