import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { builtinRegistry, humanDuration } from "../../src/apiserver/resources/index.js";

const reg = builtinRegistry();
const now = new Date("2024-05-01T12:00:00Z");
const ago = (ms: number): string => new Date(now.getTime() - ms).toISOString();
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

function row(group: string, resource: string, obj: KubeObject): Array<string | number | boolean | null> {
  return reg.lookup(group, "v1", resource)!.table!.cells(obj, now);
}

function columns(group: string, resource: string): string[] {
  return reg.lookup(group, "v1", resource)!.table!.columns.map((c) => (c.priority ? `(${c.name})` : c.name));
}

describe("humanDuration", () => {
  test("matches apimachinery's duration.HumanDuration", () => {
    const cases: Array<[number, string]> = [
      [-3 * S, "<invalid>"],
      [-1500, "0s"],
      [0, "0s"],
      [5 * S, "5s"],
      [119 * S, "119s"],
      [2 * M, "2m"],
      [3 * M + 2 * S, "3m2s"],
      [10 * M, "10m"],
      [179 * M, "179m"],
      [3 * H, "3h"],
      [7 * H + 59 * M, "7h59m"],
      [8 * H + 30 * M, "8h"],
      [47 * H, "47h"],
      [2 * D + 3 * H, "2d3h"],
      [3 * D, "3d"],
      [8 * D, "8d"],
      [400 * D, "400d"],
      [2 * 365 * D, "2y"],
      [3 * 365 * D + 20 * D, "3y20d"],
      [9 * 365 * D, "9y"],
    ];
    for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
  });
});

describe("pod table", () => {
  const base = (status: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject => ({
    metadata: { name: "web", namespace: "default", creationTimestamp: ago(5 * M), ...extra },
    spec: { nodeName: "node-1", containers: [{ name: "app", image: "nginx" }] },
    status,
  });

  test("columns are upstream's, with the wide ones at priority 1", () => {
    assert.deepEqual(columns("", "pods"), [
      "Name",
      "Ready",
      "Status",
      "Restarts",
      "Age",
      "(IP)",
      "(Node)",
      "(Nominated Node)",
      "(Readiness Gates)",
    ]);
  });

  test("Running", () => {
    const pod = base({
      phase: "Running",
      podIPs: [{ ip: "10.244.0.5" }],
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [
        { name: "app", ready: true, restartCount: 0, state: { running: { startedAt: ago(4 * M) } } },
      ],
    });
    assert.deepEqual(row("", "pods", pod), [
      "web",
      "1/1",
      "Running",
      "0",
      "5m",
      "10.244.0.5",
      "node-1",
      "<none>",
      "<none>",
    ]);
  });

  test("Pending, unscheduled", () => {
    const pod = base({ phase: "Pending" });
    pod.spec.nodeName = undefined;
    assert.deepEqual(row("", "pods", pod), [
      "web",
      "0/1",
      "Pending",
      "0",
      "5m",
      "<none>",
      "<none>",
      "<none>",
      "<none>",
    ]);
  });

  test("CrashLoopBackOff with restarts and when the last one was", () => {
    const pod = base({
      phase: "Running",
      containerStatuses: [
        {
          name: "app",
          ready: false,
          restartCount: 3,
          state: { waiting: { reason: "CrashLoopBackOff" } },
          lastState: { terminated: { exitCode: 1, reason: "Error", finishedAt: ago(2 * M) } },
        },
      ],
    });
    assert.deepEqual(row("", "pods", pod).slice(0, 4), ["web", "0/1", "CrashLoopBackOff", "3 (2m ago)"]);
  });

  test("Completed", () => {
    const pod = base({
      phase: "Succeeded",
      containerStatuses: [
        {
          name: "app",
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 0, reason: "Completed" } },
        },
      ],
    });
    assert.deepEqual(row("", "pods", pod).slice(0, 4), ["web", "0/1", "Completed", "0"]);
  });

  test("a terminated container without a reason shows its exit code or signal", () => {
    const pod = base({
      phase: "Failed",
      containerStatuses: [{ name: "app", state: { terminated: { exitCode: 137 } } }],
    });
    assert.equal(row("", "pods", pod)[2], "ExitCode:137");
    pod.status.containerStatuses[0].state.terminated.signal = 9;
    assert.equal(row("", "pods", pod)[2], "Signal:9");
  });

  test("Terminating while deletion is pending, but not once finished", () => {
    const pod = base(
      { phase: "Running", containerStatuses: [{ name: "app", ready: true, state: { running: {} } }] },
      { deletionTimestamp: ago(-30 * S) },
    );
    assert.equal(row("", "pods", pod)[2], "Terminating");
    pod.status.phase = "Succeeded";
    pod.status.containerStatuses[0].state = { terminated: { exitCode: 0, reason: "Completed" } };
    assert.equal(row("", "pods", pod)[2], "Completed");
    pod.status.reason = "NodeLost";
    assert.equal(row("", "pods", pod)[2], "Unknown");
  });

  test("Init:0/1, then init failures and waiting reasons", () => {
    const pod = base({
      phase: "Pending",
      initContainerStatuses: [{ name: "init", ready: false, restartCount: 0, state: { running: {} } }],
      containerStatuses: [{ name: "app", ready: false, state: { waiting: { reason: "PodInitializing" } } }],
    });
    pod.spec.initContainers = [{ name: "init", image: "busybox" }];
    assert.deepEqual(row("", "pods", pod).slice(0, 4), ["web", "0/1", "Init:0/1", "0"]);
    pod.status.initContainerStatuses[0].state = { terminated: { exitCode: 2, reason: "Error" } };
    pod.status.initContainerStatuses[0].restartCount = 1;
    assert.deepEqual(row("", "pods", pod).slice(2, 4), ["Init:Error", "1"]);
    pod.status.initContainerStatuses[0].state = { waiting: { reason: "ImagePullBackOff" } };
    assert.equal(row("", "pods", pod)[2], "Init:ImagePullBackOff");
  });

  test("sidecar init containers count toward READY", () => {
    const pod = base({
      phase: "Running",
      conditions: [
        { type: "Initialized", status: "True" },
        { type: "Ready", status: "True" },
      ],
      initContainerStatuses: [
        { name: "proxy", ready: true, started: true, restartCount: 1, state: { running: {} } },
      ],
      containerStatuses: [{ name: "app", ready: true, restartCount: 0, state: { running: {} } }],
    });
    pod.spec.initContainers = [{ name: "proxy", image: "envoy", restartPolicy: "Always" }];
    assert.deepEqual(row("", "pods", pod).slice(0, 4), ["web", "2/2", "Running", "1"]);
  });

  test("readiness gates count true conditions", () => {
    const pod = base({ phase: "Running", conditions: [{ type: "example.com/lb", status: "True" }] });
    pod.spec.readinessGates = [{ conditionType: "example.com/lb" }, { conditionType: "example.com/other" }];
    assert.equal(row("", "pods", pod)[8], "1/2");
  });
});

describe("workload and service tables", () => {
  test("deployment", () => {
    assert.deepEqual(columns("apps", "deployments"), [
      "Name",
      "Ready",
      "Up-to-date",
      "Available",
      "Age",
      "(Containers)",
      "(Images)",
      "(Selector)",
    ]);
    const d: KubeObject = {
      metadata: { name: "web", creationTimestamp: ago(3 * D + 4 * H) },
      spec: {
        replicas: 3,
        selector: {
          matchLabels: { app: "web" },
          matchExpressions: [{ key: "tier", operator: "In", values: ["b", "a"] }],
        },
        template: {
          spec: {
            containers: [
              { name: "app", image: "nginx:1.25" },
              { name: "log", image: "busybox" },
            ],
          },
        },
      },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    };
    assert.deepEqual(row("apps", "deployments", d), [
      "web",
      "2/3",
      3,
      2,
      "3d4h",
      "app,log",
      "nginx:1.25,busybox",
      "app=web,tier in (a,b)",
    ]);
  });

  test("replicaset", () => {
    const rs: KubeObject = {
      metadata: { name: "web-1", creationTimestamp: ago(30 * S) },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: { spec: { containers: [{ name: "a", image: "x" }] } },
      },
      status: { replicas: 2, readyReplicas: 1 },
    };
    assert.deepEqual(row("apps", "replicasets", rs), ["web-1", 2, 2, 1, "30s", "a", "x", "app=web"]);
  });

  test("job completions, duration and status", () => {
    const job: KubeObject = {
      metadata: { name: "pi", creationTimestamp: ago(10 * M) },
      spec: {
        completions: 1,
        parallelism: 1,
        selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "u" } },
        template: { spec: { containers: [{ name: "pi", image: "perl" }] } },
      },
      status: {
        succeeded: 1,
        startTime: ago(10 * M),
        completionTime: ago(9 * M),
        conditions: [{ type: "Complete", status: "True" }],
      },
    };
    assert.deepEqual(row("batch", "jobs", job), [
      "pi",
      "Complete",
      "1/1",
      "60s",
      "10m",
      "pi",
      "perl",
      "batch.kubernetes.io/controller-uid=u",
    ]);
  });

  test("services of each type", () => {
    assert.deepEqual(columns("", "services"), [
      "Name",
      "Type",
      "Cluster-IP",
      "External-IP",
      "Port(s)",
      "Age",
      "(Selector)",
    ]);
    const svc: KubeObject = {
      metadata: { name: "web", creationTimestamp: ago(2 * H) },
      spec: {
        type: "ClusterIP",
        clusterIPs: ["10.96.0.12"],
        ports: [
          { port: 80, protocol: "TCP" },
          { port: 53, protocol: "UDP" },
        ],
        selector: { app: "web", tier: "fe" },
      },
    };
    assert.deepEqual(row("", "services", svc), [
      "web",
      "ClusterIP",
      "10.96.0.12",
      "<none>",
      "80/TCP,53/UDP",
      "120m",
      "app=web,tier=fe",
    ]);
    const np: KubeObject = {
      metadata: { name: "np", creationTimestamp: ago(2 * H) },
      spec: {
        type: "NodePort",
        clusterIPs: ["10.96.0.13"],
        ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }],
      },
    };
    assert.deepEqual(row("", "services", np).slice(1, 7), [
      "NodePort",
      "10.96.0.13",
      "<none>",
      "80:30080/TCP",
      "120m",
      "<none>",
    ]);
    const lb: KubeObject = {
      metadata: { name: "lb" },
      spec: { type: "LoadBalancer", clusterIPs: ["10.96.0.14"], ports: [] },
    };
    assert.deepEqual(row("", "services", lb).slice(1, 6), [
      "LoadBalancer",
      "10.96.0.14",
      "<pending>",
      "<none>",
      "<unknown>",
    ]);
    const ext: KubeObject = {
      metadata: { name: "ext" },
      spec: { type: "ExternalName", externalName: "example.com" },
    };
    assert.deepEqual(row("", "services", ext).slice(1, 4), ["ExternalName", "<none>", "example.com"]);
  });

  test("nodes", () => {
    assert.deepEqual(columns("", "nodes"), [
      "Name",
      "Status",
      "Roles",
      "Age",
      "Version",
      "(Internal-IP)",
      "(External-IP)",
      "(OS-Image)",
      "(Kernel-Version)",
      "(Container-Runtime)",
    ]);
    const node: KubeObject = {
      metadata: {
        name: "n1",
        creationTimestamp: ago(26 * H),
        labels: { "node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge" },
      },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: "Ready", status: "True" }],
        addresses: [{ type: "InternalIP", address: "192.168.1.10" }],
        nodeInfo: {
          kubeletVersion: "v1.32.0",
          osImage: "Debian GNU/Linux 12",
          kernelVersion: "6.1.0",
          containerRuntimeVersion: "kite://0.1",
        },
      },
    };
    assert.deepEqual(row("", "nodes", node), [
      "n1",
      "Ready,SchedulingDisabled",
      "control-plane,edge",
      "26h",
      "v1.32.0",
      "192.168.1.10",
      "<none>",
      "Debian GNU/Linux 12",
      "6.1.0",
      "kite://0.1",
    ]);
    const bare: KubeObject = {
      metadata: { name: "n2" },
      status: { conditions: [{ type: "Ready", status: "Unknown" }] },
    };
    assert.deepEqual(row("", "nodes", bare).slice(1, 4), ["NotReady", "<none>", "<unknown>"]);
  });

  test("namespaces, configmaps, endpoints, events", () => {
    assert.deepEqual(
      row("", "namespaces", {
        metadata: { name: "default", creationTimestamp: ago(D) },
        status: { phase: "Active" },
      }),
      ["default", "Active", "24h"],
    );
    assert.deepEqual(
      row("", "configmaps", {
        metadata: { name: "c", creationTimestamp: ago(M) },
        data: { a: "1" },
        binaryData: { b: "AA==" },
      }),
      ["c", 2, "60s"],
    );
    const ep: KubeObject = {
      metadata: { name: "web", creationTimestamp: ago(M) },
      subsets: [
        {
          addresses: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }, { ip: "10.0.0.3" }, { ip: "10.0.0.4" }],
          ports: [{ port: 80 }],
        },
      ],
    };
    assert.deepEqual(row("", "endpoints", ep), [
      "web",
      "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...",
      "60s",
    ]);
    assert.equal(row("", "endpoints", { metadata: { name: "none" } })[1], "<none>");
    const ev: KubeObject = {
      metadata: { name: "web.17a", creationTimestamp: ago(M) },
      involvedObject: { kind: "Pod", name: "web", fieldPath: "spec.containers{app}" },
      type: "Normal",
      reason: "Pulled",
      message: "Pulled image \n",
      source: { component: "kubelet", host: "n1" },
      firstTimestamp: ago(3 * M),
      lastTimestamp: ago(M),
      count: 2,
    };
    assert.deepEqual(columns("", "events").slice(0, 7), [
      "Last Seen",
      "Type",
      "Reason",
      "Object",
      "(Subobject)",
      "(Source)",
      "Message",
    ]);
    assert.deepEqual(row("", "events", ev), [
      "60s",
      "Normal",
      "Pulled",
      "pod/web",
      "spec.containers{app}",
      "kubelet, n1",
      "Pulled image",
      "3m",
      2,
      "web.17a",
    ]);
  });

  test("kinds without an upstream printer get NAME and CREATED AT", () => {
    const cr = reg.lookup("rbac.authorization.k8s.io", "v1", "clusterroles")!.table!;
    assert.deepEqual(
      cr.columns.map((c) => [c.name, c.type]),
      [
        ["Name", "string"],
        ["Created At", "date"],
      ],
    );
    assert.deepEqual(
      cr.cells({ metadata: { name: "admin", creationTimestamp: "2024-04-01T10:00:00Z" } }, now),
      ["admin", "2024-04-01T10:00:00Z"],
    );
  });

  test("a missing creation timestamp shows <unknown>", () => {
    assert.equal(row("", "configmaps", { metadata: { name: "c" } })[2], "<unknown>");
  });
});
