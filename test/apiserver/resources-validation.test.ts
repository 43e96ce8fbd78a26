import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fieldErrorString, type KubeObject } from "../../src/api/index.js";
import { builtinRegistry } from "../../src/apiserver/resources/index.js";
import type { ResourceDef, WriteContext } from "../../src/apiserver/types.js";

const reg = builtinRegistry();
const def = (group: string, resource: string): ResourceDef => reg.lookup(group, "v1", resource)!;
const ctx: WriteContext = { now: new Date("2024-05-01T00:00:00Z"), dryRun: false };

/** What the REST layer does on create: defaults, prepare, validate; returns the messages. */
function create(d: ResourceDef, obj: KubeObject): string[] {
  d.defaults?.(obj);
  d.prepareForCreate?.(obj, ctx);
  return (d.validate?.(obj, undefined) ?? []).map(fieldErrorString);
}

function update(d: ResourceDef, obj: KubeObject, old: KubeObject, subresource?: string): string[] {
  d.defaults?.(obj);
  d.prepareForUpdate?.(obj, old, { ...ctx, subresource });
  return (d.validate?.(obj, old) ?? []).map(fieldErrorString);
}

const pod = (): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web", namespace: "default" },
  spec: { containers: [{ name: "app", image: "nginx:1.25", ports: [{ containerPort: 80 }] }] },
});

const deployment = (): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default" },
  spec: {
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "app", image: "nginx" }] },
    },
  },
});

describe("object meta validation", () => {
  test("names must be RFC 1123 subdomains, with upstream's message", () => {
    const p = pod();
    p.metadata!.name = "Bad_Name";
    assert.deepEqual(create(def("", "pods"), p), [
      `metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ]);
  });

  test("services use DNS-1035 labels and namespaces RFC 1123 labels", () => {
    const svc = { metadata: { name: "1web", namespace: "default" }, spec: { ports: [{ port: 80 }] } };
    const [msg] = create(def("", "services"), svc);
    assert.match(
      msg!,
      /^metadata\.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character/,
    );
    const [nsMsg] = create(def("", "namespaces"), { metadata: { name: "a.b" } });
    assert.equal(nsMsg, `metadata.name: Invalid value: "a.b": must not contain dots`);
  });

  test("a name or generateName is required; namespaces are required or forbidden by scope", () => {
    assert.deepEqual(create(def("", "configmaps"), { metadata: { namespace: "default" } }), [
      "metadata.name: Required value: name or generateName is required",
    ]);
    assert.deepEqual(
      create(def("", "configmaps"), { metadata: { generateName: "cm-", namespace: "default" } }),
      [],
    );
    assert.deepEqual(create(def("", "configmaps"), { metadata: { name: "c" } }), [
      "metadata.namespace: Required value",
    ]);
    assert.deepEqual(create(def("", "nodes"), { metadata: { name: "n1", namespace: "default" } }), [
      "metadata.namespace: Forbidden: not allowed on this type",
    ]);
  });

  test("label keys and values are checked", () => {
    const cm = {
      metadata: { name: "c", namespace: "default", labels: { "bad key": "ok", good: "bad value!" } },
    };
    const msgs = create(def("", "configmaps"), cm);
    assert.equal(msgs.length, 2);
    assert.match(
      msgs[0]!,
      /^metadata\.labels: Invalid value: "bad key": name part must consist of alphanumeric characters/,
    );
    assert.match(
      msgs[1]!,
      /^metadata\.labels: Invalid value: "bad value!": a valid label must be an empty string or consist of/,
    );
  });
});

describe("pods", () => {
  test("defaults as upstream's SetDefaults and admission plugins", () => {
    const p = pod();
    p.spec.containers.push(
      { name: "side", image: "busybox" },
      { name: "pinned", image: "repo/x@sha256:abc" },
    );
    p.spec.containers[0].resources = { limits: { cpu: "1", memory: "1Gi" } };
    assert.deepEqual(create(def("", "pods"), p), []);
    const spec = p.spec;
    assert.equal(spec.restartPolicy, "Always");
    assert.equal(spec.dnsPolicy, "ClusterFirst");
    assert.equal(spec.schedulerName, "default-scheduler");
    assert.equal(spec.terminationGracePeriodSeconds, 30);
    assert.deepEqual(spec.securityContext, {});
    assert.equal(spec.enableServiceLinks, true);
    assert.equal(spec.serviceAccountName, "default");
    assert.equal(spec.priority, 0);
    assert.deepEqual(
      spec.tolerations.map((t: { key: string }) => t.key),
      ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"],
    );
    assert.deepEqual(
      spec.containers.map((c: { imagePullPolicy: string }) => c.imagePullPolicy),
      ["IfNotPresent", "Always", "IfNotPresent"],
    );
    assert.equal(spec.containers[0].terminationMessagePath, "/dev/termination-log");
    assert.equal(spec.containers[0].terminationMessagePolicy, "File");
    assert.equal(spec.containers[0].ports[0].protocol, "TCP");
    assert.deepEqual(spec.containers[0].resources.requests, { cpu: "1", memory: "1Gi" });
    assert.deepEqual(p.status, { phase: "Pending", qosClass: "Burstable" });
  });

  test("status starts Pending whatever the client sent; QoS follows resources", () => {
    const p = pod();
    p.status = { phase: "Running", podIP: "1.2.3.4" };
    create(def("", "pods"), p);
    assert.deepEqual(p.status, { phase: "Pending", qosClass: "BestEffort" });
    const g = pod();
    g.spec.containers[0].resources = { limits: { cpu: "500m", memory: "128Mi" } };
    create(def("", "pods"), g);
    assert.equal(g.status.qosClass, "Guaranteed");
  });

  test("required containers, names and images", () => {
    assert.deepEqual(create(def("", "pods"), { metadata: { name: "p", namespace: "d" }, spec: {} }), [
      "spec.containers: Required value",
    ]);
    const p = pod();
    p.spec.containers = [
      { name: "", image: "" },
      { name: "Up", image: "x" },
      { name: "a", image: "x" },
      { name: "a", image: "y" },
    ];
    const msgs = create(def("", "pods"), p);
    assert.equal(msgs[0], "spec.containers[0].name: Required value");
    assert.equal(msgs[1], "spec.containers[0].image: Required value");
    assert.match(
      msgs[2]!,
      /^spec\.containers\[1\]\.name: Invalid value: "Up": a lowercase RFC 1123 label must consist of/,
    );
    assert.equal(msgs[3], 'spec.containers[3].name: Duplicate value: "a"');
  });

  test("enumerations and ranges", () => {
    const p = pod();
    p.spec.restartPolicy = "Sometimes";
    p.spec.containers[0].ports = [{ containerPort: 70000, protocol: "ICMP" }];
    assert.deepEqual(create(def("", "pods"), p), [
      "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
      'spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]);
  });

  test("updates may change images but not other spec fields", () => {
    const old = pod();
    create(def("", "pods"), old);
    const imageOnly = structuredClone(old);
    imageOnly.spec.containers[0].image = "nginx:1.26";
    assert.deepEqual(update(def("", "pods"), imageOnly, old), []);
    const more = structuredClone(old);
    more.spec.containers[0].ports[0].containerPort = 8080;
    const [msg] = update(def("", "pods"), more, old);
    assert.match(
      msg!,
      /^spec: Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`,/,
    );
  });

  test("main updates keep status; status updates keep spec and labels", () => {
    const old = pod();
    create(def("", "pods"), old);
    old.status = { phase: "Running" };
    const main = structuredClone(old);
    main.status = { phase: "Failed" };
    update(def("", "pods"), main, old);
    assert.equal(main.status.phase, "Running");
    const st = structuredClone(old);
    st.status = { phase: "Succeeded" };
    st.spec.containers[0].image = "other";
    st.metadata!.labels = { sneaky: "yes" };
    update(def("", "pods"), st, old, "status");
    assert.equal(st.status.phase, "Succeeded");
    assert.equal(st.spec.containers[0].image, "nginx:1.25");
    assert.equal(st.metadata!.labels, undefined);
  });
});

describe("deployments", () => {
  test("defaults", () => {
    const d = deployment();
    assert.deepEqual(create(def("apps", "deployments"), d), []);
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
    });
    assert.equal(d.spec.revisionHistoryLimit, 10);
    assert.equal(d.spec.progressDeadlineSeconds, 600);
    assert.equal(d.spec.template.spec.restartPolicy, "Always");
    assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, "Always");
    assert.equal(d.spec.template.spec.enableServiceLinks, undefined);
    assert.equal(d.metadata!.generation, 1);
    assert.deepEqual(d.status, {});
  });

  test("selector must match the template labels", () => {
    const d = deployment();
    d.spec.template.metadata.labels = { app: "other" };
    assert.deepEqual(create(def("apps", "deployments"), d), [
      'spec.template.metadata.labels: Invalid value: {"app":"other"}: `selector` does not match template `labels`',
    ]);
    const noSel = deployment();
    delete noSel.spec.selector;
    assert.deepEqual(create(def("apps", "deployments"), noSel), ["spec.selector: Required value"]);
  });

  test("template restart policy and replicas", () => {
    const d = deployment();
    d.spec.template.spec.restartPolicy = "Never";
    d.spec.replicas = -1;
    assert.deepEqual(create(def("apps", "deployments"), d), [
      "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ]);
  });

  test("generation bumps on spec and annotation changes only; the selector is immutable", () => {
    const old = deployment();
    create(def("apps", "deployments"), old);
    const same = structuredClone(old);
    same.metadata!.labels = { x: "y" };
    update(def("apps", "deployments"), same, old);
    assert.equal(same.metadata!.generation, 1);
    const scaled = structuredClone(old);
    scaled.spec.replicas = 3;
    scaled.metadata!.generation = 42;
    update(def("apps", "deployments"), scaled, old);
    assert.equal(scaled.metadata!.generation, 2);
    const annotated = structuredClone(old);
    annotated.metadata!.annotations = { note: "x" };
    update(def("apps", "deployments"), annotated, old);
    assert.equal(annotated.metadata!.generation, 2);
    const status = structuredClone(old);
    status.status = { replicas: 3 };
    status.spec.replicas = 5;
    update(def("apps", "deployments"), status, old, "status");
    assert.equal(status.metadata!.generation, 1);
    assert.equal(status.spec.replicas, 1);
    assert.deepEqual(status.status, { replicas: 3 });
    const moved = structuredClone(old);
    moved.spec.selector = { matchLabels: { app: "web", tier: "x" } };
    moved.spec.template.metadata.labels.tier = "x";
    const [msg] = update(def("apps", "deployments"), moved, old);
    assert.equal(
      msg,
      'spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable',
    );
  });

  test("replicasets default to one replica", () => {
    const rs = deployment();
    rs.kind = "ReplicaSet";
    delete rs.spec.replicas;
    assert.deepEqual(create(def("apps", "replicasets"), rs), []);
    assert.equal(rs.spec.replicas, 1);
    assert.deepEqual(rs.status, { replicas: 0 });
  });
});

describe("services", () => {
  test("defaults", () => {
    const svc: KubeObject = {
      metadata: { name: "web", namespace: "default" },
      spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
    };
    assert.deepEqual(create(def("", "services"), svc), []);
    assert.equal(svc.spec.type, "ClusterIP");
    assert.equal(svc.spec.sessionAffinity, "None");
    assert.deepEqual(svc.spec.ports, [{ port: 80, protocol: "TCP", targetPort: 80 }]);
    assert.equal(svc.spec.internalTrafficPolicy, "Cluster");
    assert.equal(svc.spec.ipFamilyPolicy, "SingleStack");
    assert.deepEqual(svc.spec.ipFamilies, ["IPv4"]);
    assert.equal(svc.spec.externalTrafficPolicy, undefined);
    assert.deepEqual(svc.status, { loadBalancer: {} });
  });

  test("ports are required, named when several, in range", () => {
    assert.deepEqual(create(def("", "services"), { metadata: { name: "s", namespace: "d" }, spec: {} }), [
      "spec.ports: Required value",
    ]);
    assert.deepEqual(
      create(def("", "services"), { metadata: { name: "s", namespace: "d" }, spec: { clusterIP: "None" } }),
      [],
    );
    const svc = {
      metadata: { name: "s", namespace: "d" },
      spec: { type: "Bogus", ports: [{ port: 0 }, { port: 81 }] },
    };
    assert.deepEqual(create(def("", "services"), svc), [
      'spec.type: Unsupported value: "Bogus": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
      "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
      "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
      "spec.ports[0].name: Required value",
      "spec.ports[1].name: Required value",
    ]);
  });

  test("the cluster IP may not change, and an update without it keeps it", () => {
    const old: KubeObject = {
      metadata: { name: "s", namespace: "d" },
      spec: { clusterIP: "10.96.0.10", ports: [{ port: 80 }] },
    };
    create(def("", "services"), old);
    assert.deepEqual(old.spec.clusterIPs, ["10.96.0.10"]);
    const omitted: KubeObject = { metadata: { name: "s", namespace: "d" }, spec: { ports: [{ port: 80 }] } };
    assert.deepEqual(update(def("", "services"), omitted, old), []);
    assert.equal(omitted.spec.clusterIP, "10.96.0.10");
    const changed: KubeObject = {
      metadata: { name: "s", namespace: "d" },
      spec: { clusterIP: "10.96.0.11", ports: [{ port: 80 }] },
    };
    assert.deepEqual(update(def("", "services"), changed, old), [
      'spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set',
    ]);
  });
});

describe("batch", () => {
  const job = (): KubeObject => ({
    metadata: { name: "pi", namespace: "default", uid: "u-1" },
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "pi", image: "perl" }] } } },
  });

  test("job defaults and the generated selector", () => {
    const j = job();
    assert.deepEqual(create(def("batch", "jobs"), j), []);
    assert.equal(j.spec.parallelism, 1);
    assert.equal(j.spec.completions, 1);
    assert.equal(j.spec.backoffLimit, 6);
    assert.equal(j.spec.completionMode, "NonIndexed");
    assert.equal(j.spec.suspend, false);
    assert.deepEqual(j.spec.selector, { matchLabels: { "batch.kubernetes.io/controller-uid": "u-1" } });
    assert.deepEqual(j.spec.template.metadata.labels, {
      "job-name": "pi",
      "batch.kubernetes.io/job-name": "pi",
      "controller-uid": "u-1",
      "batch.kubernetes.io/controller-uid": "u-1",
    });
    assert.equal(j.metadata!.generation, 1);
  });

  test("a job template must not restart Always", () => {
    const j = job();
    delete j.spec.template.spec.restartPolicy;
    assert.deepEqual(create(def("batch", "jobs"), j), [
      'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
    ]);
  });

  test("job selector and template are immutable", () => {
    const old = job();
    create(def("batch", "jobs"), old);
    const changed = structuredClone(old);
    changed.spec.template.spec.containers[0].image = "python";
    const msgs = update(def("batch", "jobs"), changed, old);
    assert.equal(msgs.length, 1);
    assert.match(msgs[0]!, /^spec\.template: Invalid value: .*: field is immutable$/);
  });

  test("an unknown restart policy is unsupported for the pod and for the job", () => {
    const j = job();
    j.spec.template.spec.restartPolicy = "Sometimes";
    assert.deepEqual(create(def("batch", "jobs"), j), [
      'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
      'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "OnFailure", "Never"',
    ]);
  });

  test("a hand-written selector needs manualSelector", () => {
    const j = job();
    j.spec.selector = { matchLabels: { app: "pi" } };
    j.spec.template.metadata = { labels: { app: "pi" } };
    assert.deepEqual(create(def("batch", "jobs"), j), [
      'spec.selector: Invalid value: {"matchLabels":{"app":"pi","batch.kubernetes.io/controller-uid":"u-1"}}: `selector` not auto-generated',
    ]);
    const manual = job();
    manual.spec.manualSelector = true;
    manual.spec.selector = { matchLabels: { app: "pi" } };
    manual.spec.template.metadata = { labels: { app: "pi" } };
    assert.deepEqual(create(def("batch", "jobs"), manual), []);
    assert.deepEqual(manual.spec.selector, { matchLabels: { app: "pi" } });
  });

  test("a suspended job that never ran may change scheduling directives only", () => {
    const old = job();
    old.spec.suspend = true;
    create(def("batch", "jobs"), old);
    const placed = structuredClone(old);
    placed.spec.template.spec.nodeSelector = { zone: "a" };
    placed.spec.template.metadata.annotations = { note: "x" };
    assert.deepEqual(update(def("batch", "jobs"), placed, old), []);
    const image = structuredClone(old);
    image.spec.template.spec.containers[0].image = "python";
    assert.equal(update(def("batch", "jobs"), image, old).length, 1);
    const started = structuredClone(old);
    started.status = { startTime: "2024-05-01T00:00:00Z" };
    const again = structuredClone(placed);
    assert.match(
      update(def("batch", "jobs"), again, started)[0]!,
      /^spec\.template: Invalid value: .*: field is immutable$/,
    );
  });

  test("cronjob defaults and schedule checks", () => {
    const cj: KubeObject = {
      metadata: { name: "tick", namespace: "default" },
      spec: {
        schedule: "*/5 * * * *",
        jobTemplate: {
          spec: {
            template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox" }] } },
          },
        },
      },
    };
    assert.deepEqual(create(def("batch", "cronjobs"), cj), []);
    assert.equal(cj.spec.concurrencyPolicy, "Allow");
    assert.equal(cj.spec.suspend, false);
    assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
    assert.equal(cj.spec.failedJobsHistoryLimit, 1);
    const bad = structuredClone(cj);
    bad.spec.schedule = "every minute";
    assert.deepEqual(create(def("batch", "cronjobs"), bad), [
      'spec.schedule: Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]',
    ]);
  });
});

describe("other kinds", () => {
  test("namespaces get the kubernetes finalizer, Active phase and the name label", () => {
    const ns: KubeObject = { metadata: { name: "team-a" } };
    assert.deepEqual(create(def("", "namespaces"), ns), []);
    assert.deepEqual(ns.spec, { finalizers: ["kubernetes"] });
    assert.deepEqual(ns.status, { phase: "Active" });
    assert.deepEqual(ns.metadata!.labels, { "kubernetes.io/metadata.name": "team-a" });
    const upd: KubeObject = {
      metadata: { name: "team-a" },
      spec: { finalizers: [] },
      status: { phase: "Terminating" },
    };
    update(def("", "namespaces"), upd, ns);
    assert.deepEqual(upd.spec, { finalizers: ["kubernetes"] });
    assert.deepEqual(upd.status, { phase: "Active" });
    const fin: KubeObject = {
      metadata: { name: "team-a" },
      spec: { finalizers: [] },
      status: { phase: "Terminating" },
    };
    update(def("", "namespaces"), fin, ns, "finalize");
    assert.deepEqual(fin.spec, { finalizers: [] });
    assert.deepEqual(fin.status, { phase: "Active" });
  });

  test("secrets default to Opaque and fold stringData into data", () => {
    const s: KubeObject = { metadata: { name: "s", namespace: "d" }, stringData: { user: "admin" } };
    assert.deepEqual(create(def("", "secrets"), s), []);
    assert.equal(s.type, "Opaque");
    assert.deepEqual(s.data, { user: "YWRtaW4=" });
    assert.equal(s.stringData, undefined);
  });

  test("immutable configmaps and secrets refuse data changes", () => {
    const old: KubeObject = { metadata: { name: "c", namespace: "d" }, data: { a: "1" }, immutable: true };
    const changed = { ...structuredClone(old), data: { a: "2" } };
    assert.deepEqual(update(def("", "configmaps"), changed, old), [
      "data: Forbidden: field is immutable when `immutable` is set",
    ]);
    const unfrozen = { ...structuredClone(old), immutable: false };
    assert.deepEqual(update(def("", "configmaps"), unfrozen, old), [
      "immutable: Forbidden: field is immutable when `immutable` is set",
    ]);
    const sOld: KubeObject = { metadata: { name: "s", namespace: "d" }, type: "Opaque", data: { a: "MQ==" } };
    const sNew = { ...structuredClone(sOld), type: "kubernetes.io/basic-auth" };
    assert.deepEqual(update(def("", "secrets"), sNew, sOld), [
      'type: Invalid value: "kubernetes.io/basic-auth": field is immutable',
    ]);
  });

  test("configmap keys are config keys", () => {
    const msgs = create(def("", "configmaps"), {
      metadata: { name: "c", namespace: "d" },
      data: { "bad/key": "x" },
    });
    assert.deepEqual(msgs, [
      `data[bad/key]: Invalid value: "bad/key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    ]);
  });

  test("nodes keep the status the kubelet registers with", () => {
    const node: KubeObject = { metadata: { name: "n1" }, status: { capacity: { cpu: "4" } } };
    assert.deepEqual(create(def("", "nodes"), node), []);
    assert.deepEqual(node.status, { capacity: { cpu: "4" }, allocatable: { cpu: "4" } });
  });

  test("role bindings: roleRef checked and immutable, subject api groups defaulted", () => {
    const rb: KubeObject = {
      metadata: { name: "rb", namespace: "d" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r" },
      subjects: [
        { kind: "User", name: "alice" },
        { kind: "ServiceAccount", name: "default", namespace: "d" },
      ],
    };
    assert.deepEqual(create(reg.lookup("rbac.authorization.k8s.io", "v1", "rolebindings")!, rb), []);
    assert.equal(rb.subjects[0].apiGroup, "rbac.authorization.k8s.io");
    assert.equal(rb.subjects[1].apiGroup, "");
    const crb: KubeObject = {
      metadata: { name: "crb" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r" },
    };
    assert.deepEqual(create(reg.lookup("rbac.authorization.k8s.io", "v1", "clusterrolebindings")!, crb), [
      'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
    ]);
    const moved = {
      ...structuredClone(rb),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "q" },
    };
    const [msg] = update(reg.lookup("rbac.authorization.k8s.io", "v1", "rolebindings")!, moved, rb);
    assert.match(msg!, /^roleRef: Invalid value: .*: cannot change roleRef$/);
  });
});
