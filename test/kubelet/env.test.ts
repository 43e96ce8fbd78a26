import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../src/api/types.js";
import {
  containerEnv,
  EnvError,
  type EnvSources,
  type EnvWarning,
  expand,
  expandCommandAndArgs,
  mappingFuncFor,
  serviceEnvVars,
} from "../../src/kubelet/env.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

function sources(extra: Partial<EnvSources> = {}): EnvSources {
  const configMaps: Record<string, KubeObject> = {
    cfg: { metadata: { name: "cfg" }, data: { LEVEL: "debug", "bad key": "x", "1st": "y", MODE: "fast" } },
  };
  const secrets: Record<string, KubeObject> = {
    creds: { metadata: { name: "creds" }, data: { PASSWORD: b64("s3cr3t"), USER: b64("admin") } },
  };
  const services: Record<string, KubeObject[]> = {
    default: [
      {
        metadata: { name: "kubernetes", namespace: "default" },
        spec: { clusterIP: "127.96.0.1", ports: [{ name: "https", port: 443, protocol: "TCP" }] },
      },
    ],
    app: [
      {
        metadata: { name: "redis-primary", namespace: "app" },
        spec: {
          clusterIP: "127.96.0.20",
          ports: [{ port: 6379 }, { name: "metrics", port: 9121, protocol: "TCP" }],
        },
      },
      {
        metadata: { name: "headless", namespace: "app" },
        spec: { clusterIP: "None", ports: [{ port: 80 }] },
      },
    ],
  };
  return {
    getConfigMap: async (_ns, name) => configMaps[name],
    getSecret: async (_ns, name) => secrets[name],
    services: (ns) => services[ns] ?? [],
    nodeName: "kite-node-1",
    nodeIP: "127.1.0.1",
    podIP: "127.244.1.5",
    allocatable: { cpu: "4", memory: "8Gi" },
    ...extra,
  };
}

function pod(container: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: {
      name: "web-1",
      namespace: "app",
      uid: "uid-123",
      labels: { app: "web", tier: "front" },
      annotations: { note: 'say "hi"' },
    },
    spec: { nodeName: "kite-node-1", serviceAccountName: "default", containers: [container], ...spec },
  };
}

test("expansion follows upstream: $$ escapes, unresolved references stay, incomplete ones kept", () => {
  const m = mappingFuncFor({ A: "a", B: "$(A)" }, { A: "shadowed", S: "svc" });
  assert.equal(expand("$(A)-$(S)", m), "a-svc");
  assert.equal(expand("$$(A)", m), "$(A)");
  assert.equal(expand("$(MISSING)", m), "$(MISSING)");
  assert.equal(expand("$(B)", m), "$(A)", "no recursive expansion");
  assert.equal(expand("price $5 and $(A", m), "price $5 and $(A");
  assert.equal(expand("trailing $", m), "trailing $");
  assert.equal(expand("$$$$", m), "$$");
  assert.deepEqual(expandCommandAndArgs({ command: ["echo", "$(A)"], args: ["$(X)"] }, { A: "1" }), {
    command: ["echo", "1"],
    args: ["$(X)"],
  });
});

test("env: ordering, expansion, sources, envFrom prefix and invalid keys", async () => {
  const c = {
    name: "web",
    resources: { requests: { cpu: "250m", memory: "64Mi" }, limits: { memory: "128Mi" } },
    envFrom: [{ configMapRef: { name: "cfg" } }, { prefix: "DB_", secretRef: { name: "creds" } }],
    env: [
      { name: "MODE", value: "slow" },
      { name: "GREETING", value: "hello $(POD_NAME) at $(MISSING) in $(LEVEL)" },
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "LATE", value: "$(POD_NAME)" },
      { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
      { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: "NOTE", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
      { name: "LABELS", valueFrom: { fieldRef: { fieldPath: "metadata.labels" } } },
      { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
      { name: "SA", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
      { name: "HOST_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
      { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: "POD_IPS", valueFrom: { fieldRef: { fieldPath: "status.podIPs" } } },
      { name: "CPU_REQ_M", valueFrom: { resourceFieldRef: { resource: "requests.cpu", divisor: "1m" } } },
      { name: "CPU_LIMIT", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
      {
        name: "MEM_LIMIT_MI",
        valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } },
      },
      { name: "MEM_REQ", valueFrom: { resourceFieldRef: { resource: "requests.memory", divisor: "100M" } } },
      { name: "CM_LEVEL", valueFrom: { configMapKeyRef: { name: "cfg", key: "LEVEL" } } },
      { name: "SECRET_PW", valueFrom: { secretKeyRef: { name: "creds", key: "PASSWORD" } } },
      { name: "OPT_KEY", valueFrom: { configMapKeyRef: { name: "cfg", key: "nope", optional: true } } },
      { name: "OPT_CM", valueFrom: { configMapKeyRef: { name: "gone", key: "k", optional: true } } },
      { name: "REDIS_PRIMARY_SERVICE_HOST", value: "override" },
    ],
  };
  const warnings: EnvWarning[] = [];
  const env = await containerEnv(pod(c), c, sources(), warnings);
  assert.equal(env.MODE, "slow", "env wins over envFrom");
  assert.equal(env.LEVEL, "debug");
  assert.equal(env.DB_PASSWORD, "s3cr3t");
  assert.equal(env.DB_USER, "admin");
  assert.equal(env.GREETING, "hello $(POD_NAME) at $(MISSING) in debug", "only earlier variables expand");
  assert.equal(env.LATE, "web-1");
  assert.equal(env.NS, "app");
  assert.equal(env.UID, "uid-123");
  assert.equal(env.APP, "web");
  assert.equal(env.NOTE, 'say "hi"');
  assert.equal(env.LABELS, 'app="web"\ntier="front"');
  assert.equal(env.NODE, "kite-node-1");
  assert.equal(env.SA, "default");
  assert.equal(env.HOST_IP, "127.1.0.1");
  assert.equal(env.POD_IP, "127.244.1.5");
  assert.equal(env.POD_IPS, "127.244.1.5");
  assert.equal(env.CPU_REQ_M, "250");
  assert.equal(env.CPU_LIMIT, "4", "unset limit defaults to node allocatable");
  assert.equal(env.MEM_LIMIT_MI, "128");
  assert.equal(env.MEM_REQ, "1", "ceiling of 64Mi / 100M");
  assert.equal(env.CM_LEVEL, "debug");
  assert.equal(env.SECRET_PW, "s3cr3t");
  assert.equal("OPT_KEY" in env, false);
  assert.equal("OPT_CM" in env, false);
  assert.equal("bad key" in env || "1st" in env, false, "invalid envFrom keys are skipped");
  assert.deepEqual(
    warnings.map((w) => w.message),
    [
      "Keys [1st, bad key] from the EnvFrom configMap app/cfg were skipped since they are considered invalid environment variable names.",
    ],
  );
  // Service links: same namespace + default/kubernetes; headless skipped; explicit env wins.
  assert.equal(env.REDIS_PRIMARY_SERVICE_HOST, "override");
  assert.equal(env.REDIS_PRIMARY_SERVICE_PORT, "6379");
  assert.equal(env.REDIS_PRIMARY_SERVICE_PORT_METRICS, "9121");
  assert.equal(env.REDIS_PRIMARY_PORT, "tcp://127.96.0.20:6379");
  assert.equal(env.REDIS_PRIMARY_PORT_9121_TCP, "tcp://127.96.0.20:9121");
  assert.equal(env.REDIS_PRIMARY_PORT_9121_TCP_PROTO, "tcp");
  assert.equal(env.REDIS_PRIMARY_PORT_9121_TCP_PORT, "9121");
  assert.equal(env.REDIS_PRIMARY_PORT_9121_TCP_ADDR, "127.96.0.20");
  assert.equal(env.KUBERNETES_SERVICE_HOST, "127.96.0.1");
  assert.equal(env.KUBERNETES_SERVICE_PORT_HTTPS, "443");
  assert.equal(env.KUBERNETES_PORT_443_TCP, "tcp://127.96.0.1:443");
  assert.equal(
    Object.keys(env).some((k) => k.startsWith("HEADLESS")),
    false,
  );
  // Declared variables come first, in order.
  assert.deepEqual(Object.keys(env).slice(0, 3), ["LEVEL", "MODE", "DB_PASSWORD"]);
});

test("enableServiceLinks: false keeps only the kubernetes service", async () => {
  const c = { name: "c", env: [{ name: "X", value: "$(KUBERNETES_SERVICE_HOST)" }] };
  const env = await containerEnv(pod(c, { enableServiceLinks: false }), c, sources());
  assert.equal(env.X, "127.96.0.1", "service variables are expandable");
  assert.equal(env.KUBERNETES_SERVICE_HOST, "127.96.0.1");
  assert.equal(
    Object.keys(env).some((k) => k.startsWith("REDIS")),
    false,
  );
});

test("env errors carry upstream's messages", async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ valueFrom: { configMapKeyRef: { name: "x", key: "k" } } }, 'configmap "x" not found'],
    [
      { valueFrom: { configMapKeyRef: { name: "cfg", key: "k" } } },
      "couldn't find key k in ConfigMap app/cfg",
    ],
    [{ valueFrom: { secretKeyRef: { name: "nope", key: "k" } } }, 'secret "nope" not found'],
    [{ valueFrom: { secretKeyRef: { name: "creds", key: "k" } } }, "couldn't find key k in Secret app/creds"],
    [{ valueFrom: { fieldRef: { fieldPath: "spec.bogus" } } }, "unsupported fieldPath: spec.bogus"],
    [
      { valueFrom: { resourceFieldRef: { resource: "limits.gpu" } } },
      "unsupported container resource : limits.gpu",
    ],
    [
      { valueFrom: { resourceFieldRef: { resource: "limits.cpu", containerName: "zz" } } },
      "container zz not found",
    ],
  ];
  for (const [e, message] of cases) {
    const c = { name: "c", env: [{ name: "V", ...e }] };
    await assert.rejects(containerEnv(pod(c), c, sources()), (err: Error) => {
      assert.ok(err instanceof EnvError);
      assert.equal(err.message, message);
      return true;
    });
  }
  const c = { name: "c", envFrom: [{ secretRef: { name: "missing" } }] };
  await assert.rejects(containerEnv(pod(c), c, sources()), { message: 'secret "missing" not found' });
  const opt = { name: "c", envFrom: [{ secretRef: { name: "missing", optional: true } }] };
  assert.equal((await containerEnv(pod(opt), opt, sources())).KUBERNETES_SERVICE_HOST, "127.96.0.1");
});

test("serviceEnvVars matches pkg/kubelet/envvars for a UDP port and IPv6", () => {
  const vars = serviceEnvVars([
    {
      metadata: { name: "dns-svc" },
      spec: { clusterIP: "fd00::a", ports: [{ name: "dns", port: 53, protocol: "UDP" }] },
    },
  ]);
  assert.deepEqual(vars, [
    ["DNS_SVC_SERVICE_HOST", "fd00::a"],
    ["DNS_SVC_SERVICE_PORT", "53"],
    ["DNS_SVC_SERVICE_PORT_DNS", "53"],
    ["DNS_SVC_PORT", "udp://[fd00::a]:53"],
    ["DNS_SVC_PORT_53_UDP", "udp://[fd00::a]:53"],
    ["DNS_SVC_PORT_53_UDP_PROTO", "udp"],
    ["DNS_SVC_PORT_53_UDP_PORT", "53"],
    ["DNS_SVC_PORT_53_UDP_ADDR", "fd00::a"],
  ]);
});
