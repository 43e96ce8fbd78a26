import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { builtinRegistry, ResourceRegistry } from "../../src/apiserver/resources/index.js";

describe("resource registry", () => {
  const reg = builtinRegistry();

  test("serves every resource of issue 5 once", () => {
    const names = reg.all().map((d) => `${d.group || "core"}/${d.resource}`);
    assert.equal(new Set(names).size, names.length);
    for (const expected of [
      "core/namespaces",
      "core/pods",
      "core/services",
      "core/endpoints",
      "core/nodes",
      "core/configmaps",
      "core/secrets",
      "core/serviceaccounts",
      "core/events",
      "core/resourcequotas",
      "core/limitranges",
      "apps/deployments",
      "apps/replicasets",
      "apps/daemonsets",
      "apps/statefulsets",
      "batch/jobs",
      "batch/cronjobs",
      "coordination.k8s.io/leases",
      "discovery.k8s.io/endpointslices",
      "networking.k8s.io/ingresses",
      "rbac.authorization.k8s.io/roles",
      "rbac.authorization.k8s.io/clusterroles",
      "rbac.authorization.k8s.io/rolebindings",
      "rbac.authorization.k8s.io/clusterrolebindings",
    ])
      assert.ok(names.includes(expected), expected);
    assert.equal(names.length, 24);
  });

  test("looks up by group/version/resource and by kind", () => {
    const pods = reg.lookup("", "v1", "pods");
    assert.equal(pods?.kind, "Pod");
    assert.equal(pods?.listKind, "PodList");
    assert.equal(pods?.singular, "pod");
    assert.equal(reg.lookup("apps", "v1", "deployments")?.kind, "Deployment");
    assert.equal(reg.lookup("apps", "v1beta1", "deployments"), undefined);
    assert.equal(reg.lookup("", "v1", "deployments"), undefined);
    assert.equal(reg.byKind("", "Service")?.resource, "services");
    assert.equal(reg.byKind("batch", "CronJob")?.resource, "cronjobs");
    assert.equal(reg.byKind("apps", "Service"), undefined);
    assert.equal(reg.byKind("", "Endpoints")?.singular, "endpoints");
  });

  test("short names, categories, scope and subresources follow upstream discovery", () => {
    const short = Object.fromEntries(reg.all().map((d) => [d.resource, d.shortNames.join(",")]));
    assert.deepEqual(
      {
        pods: short.pods,
        services: short.services,
        deployments: short.deployments,
        replicasets: short.replicasets,
        namespaces: short.namespaces,
        nodes: short.nodes,
        endpoints: short.endpoints,
        configmaps: short.configmaps,
        secrets: short.secrets,
        serviceaccounts: short.serviceaccounts,
        events: short.events,
        resourcequotas: short.resourcequotas,
        limitranges: short.limitranges,
        daemonsets: short.daemonsets,
        statefulsets: short.statefulsets,
        cronjobs: short.cronjobs,
        ingresses: short.ingresses,
        endpointslices: short.endpointslices,
        leases: short.leases,
        jobs: short.jobs,
      },
      {
        pods: "po",
        services: "svc",
        deployments: "deploy",
        replicasets: "rs",
        namespaces: "ns",
        nodes: "no",
        endpoints: "ep",
        configmaps: "cm",
        secrets: "",
        serviceaccounts: "sa",
        events: "ev",
        resourcequotas: "quota",
        limitranges: "limits",
        daemonsets: "ds",
        statefulsets: "sts",
        cronjobs: "cj",
        ingresses: "ing",
        endpointslices: "",
        leases: "",
        jobs: "",
      },
    );
    const inAll = reg
      .all()
      .filter((d) => d.categories.includes("all"))
      .map((d) => d.resource)
      .sort();
    assert.deepEqual(inAll, [
      "cronjobs",
      "daemonsets",
      "deployments",
      "jobs",
      "pods",
      "replicasets",
      "services",
      "statefulsets",
    ]);
    assert.equal(reg.lookup("", "v1", "nodes")?.namespaced, false);
    assert.equal(reg.lookup("", "v1", "namespaces")?.namespaced, false);
    assert.equal(reg.lookup("rbac.authorization.k8s.io", "v1", "clusterroles")?.namespaced, false);
    assert.equal(reg.lookup("", "v1", "pods")?.namespaced, true);
    assert.deepEqual(reg.lookup("", "v1", "pods")?.subresources, ["status", "binding", "log", "eviction"]);
    assert.deepEqual(reg.lookup("apps", "v1", "deployments")?.subresources, ["status", "scale"]);
    assert.deepEqual(reg.lookup("apps", "v1", "daemonsets")?.subresources, ["status"]);
    assert.ok(!reg.lookup("", "v1", "namespaces")?.verbs.includes("deletecollection"));
    assert.deepEqual(reg.lookup("", "v1", "configmaps")?.verbs, [
      "create",
      "delete",
      "deletecollection",
      "get",
      "list",
      "patch",
      "update",
      "watch",
    ]);
  });

  test("resolves plural, singular and short names case-insensitively", () => {
    assert.equal(reg.resolve("po")?.resource, "pods");
    assert.equal(reg.resolve("Pod")?.resource, "pods");
    assert.equal(reg.resolve("deploy")?.resource, "deployments");
    assert.equal(reg.resolve("quota")?.resource, "resourcequotas");
    assert.equal(reg.resolve("nosuch"), undefined);
  });

  test("group versions list each once, core first", () => {
    assert.deepEqual(reg.groupVersions(), [
      { group: "", version: "v1" },
      { group: "apps", version: "v1" },
      { group: "batch", version: "v1" },
      { group: "coordination.k8s.io", version: "v1" },
      { group: "discovery.k8s.io", version: "v1" },
      { group: "networking.k8s.io", version: "v1" },
      { group: "rbac.authorization.k8s.io", version: "v1" },
    ]);
  });

  test("field selectors come from src/api where upstream has them", () => {
    assert.ok(reg.lookup("", "v1", "pods")?.fields?.supported.includes("spec.nodeName"));
    assert.ok(reg.lookup("", "v1", "events")?.fields?.supported.includes("involvedObject.name"));
    assert.equal(reg.lookup("", "v1", "configmaps")?.fields, undefined);
  });

  test("every resource has a table whose cells match its columns", () => {
    const now = new Date("2024-05-01T00:00:00Z");
    for (const def of reg.all()) {
      assert.ok(def.table, `${def.resource} has a table`);
      const obj = {
        apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
        kind: def.kind,
        metadata: {
          name: "x",
          namespace: def.namespaced ? "default" : undefined,
          creationTimestamp: "2024-04-30T23:59:00Z",
        },
      };
      const cells = def.table.cells(obj, now);
      assert.equal(cells.length, def.table.columns.length, def.resource);
    }
  });

  test("rejects a resource defined twice", () => {
    const pods = builtinRegistry().lookup("", "v1", "pods")!;
    assert.throws(() => new ResourceRegistry([pods, pods]), /resource \/v1\/pods is defined twice/);
  });
});
