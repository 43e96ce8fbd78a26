// Issue 7's "Done when" as one test: `kite up` (what `npm start` runs) as a child process, then
// the real kubectl, curl-like HTTP and dig against it — a deployment rolls out, its service
// balances over the pods, logs, replacement of a deleted pod, liveness restarts, readiness
// removing a pod from the endpoints, DNS, a Job — then Ctrl-C leaves no pod process behind and a
// restart on the same data dir brings the deployment back.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { haveKubectl } from "../apiserver/kubectl-support.js";
import { freePort } from "../support/ports.js";
import { need, waitFor } from "../support/require.js";
import { alive, CLI, EXAMPLES, type KiteUp, processesUnder, run, startKiteUp } from "./kite-up.js";
import { LIVENESS_FAIL, READINESS_TOGGLE } from "./manifests.js";

const DIG = "/usr/bin/dig";
const DNS_IP = "127.96.0.10";

function httpGet(url: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false, so every request is its own connection and the proxy balances each one.
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ restartCount: number; state?: Record<string, unknown> }>;
  };
}

async function pods(up: KiteUp, selector: string): Promise<PodJson[]> {
  return (JSON.parse(await up.ok(["get", "pods", "-l", selector, "-o", "json"])) as { items: PodJson[] })
    .items;
}

const isReady = (p: PodJson) =>
  p.status?.phase === "Running" &&
  p.metadata.deletionTimestamp === undefined &&
  (p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);

async function readyEndpointIPs(up: KiteUp, service: string): Promise<string[]> {
  const ep = JSON.parse(await up.ok(["get", "endpoints", service, "-o", "json"])) as {
    subsets?: Array<{ addresses?: Array<{ ip: string }> }>;
  };
  return (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
}

test("kite up: the issue 7 end-to-end flow", { timeout: 420_000 }, async (t) => {
  if (!need(t, haveKubectl, "kubectl is not installed")) return;
  const root = mkdtempSync(join(tmpdir(), "kite-e2e-"));
  const dataDir = join(root, "data");
  const cacheDir = join(root, "kube-cache");
  const args = [
    "--port",
    String(await freePort()),
    "--dns-port",
    String(await freePort()),
    "--store-port",
    "0",
  ];
  const dnsPort = args[3] ?? "";
  let up: KiteUp | undefined;
  t.after(async () => {
    await up?.interrupt(30_000);
    // Whatever the outcome, no pod process may outlive the test.
    for (const pid of processesUnder(root)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    rmSync(root, { recursive: true, force: true });
  });
  up = await startKiteUp(dataDir, cacheDir, args);
  const cluster = up;
  assert.match(cluster.output(), /export KUBECONFIG=.*kubeconfig/);
  assert.match(cluster.output(), /kite-node-1 \(127\.1\.0\.1\)/);

  await t.test("a second kite up on the same data dir is refused", async () => {
    const r = await run(process.execPath, [CLI, "up", "--data-dir", dataDir, ...args], { timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /in use by another kite \(pid \d+\)/);
  });

  await t.test("the node is Ready", async () => {
    assert.match(await cluster.ok(["get", "nodes"]), /kite-node-1\s+Ready/);
  });

  let rolledOut = false;
  await t.test("kubectl apply -f examples/hello.yaml and rollout status completes", async () => {
    await cluster.ok(["apply", "-f", join(EXAMPLES, "hello.yaml")]);
    const out = await cluster.ok(["rollout", "status", "deployment/hello", "--timeout=120s"]);
    assert.match(out, /successfully rolled out/);
    rolledOut = true;
  });

  let clusterIP = "";
  await t.test("HTTP to the service's ClusterIP reaches the pods in turn", { skip: !rolledOut }, async () => {
    clusterIP = (await cluster.ok(["get", "svc", "hello", "-o", "jsonpath={.spec.clusterIP}"])).trim();
    assert.match(clusterIP, /^127\.96\./);
    const names = (await pods(cluster, "app=hello")).filter(isReady).map((p) => p.metadata.name);
    assert.equal(names.length, 3);
    await waitFor(async () => (await readyEndpointIPs(cluster, "hello")).length === 3, 30_000, "3 endpoints");
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await httpGet(`http://${clusterIP}:8080/`);
      assert.equal(r.status, 200);
      seen.push(r.body.trim().replace(/^hello from /, ""));
    }
    assert.deepEqual([...new Set(seen)].sort(), [...names].sort(), `answers: ${seen.join(", ")}`);
    // Round robin: three requests in a row reach three different pods.
    assert.equal(new Set(seen.slice(0, 3)).size, 3, `answers: ${seen.join(", ")}`);
  });

  await t.test("kubectl logs shows the app's output", { skip: !rolledOut }, async () => {
    const [first] = (await pods(cluster, "app=hello")).filter(isReady);
    assert.ok(first);
    const name = first.metadata.name;
    await waitFor(
      async () => /GET \/ from/.test((await cluster.kubectl(["logs", name])).stdout),
      15_000,
      "request lines in kubectl logs",
    );
    const logs = await cluster.ok(["logs", name]);
    assert.match(logs, new RegExp(`hello: ${name} listening on 127\\.244\\.\\d+\\.\\d+:8080`));
    assert.match(await cluster.ok(["logs", name, "--tail=1"]), /^GET \/ from .*\n$/);
  });

  await t.test("kubectl delete pod brings a replacement", { skip: !rolledOut }, async () => {
    const before = (await pods(cluster, "app=hello")).filter(isReady).map((p) => p.metadata.name);
    const victim = before[0] ?? "";
    await cluster.ok(["delete", "pod", victim, "--timeout=60s"]);
    await waitFor(
      async () => {
        const now = (await pods(cluster, "app=hello")).filter(isReady).map((p) => p.metadata.name);
        return now.length === 3 && !now.includes(victim);
      },
      60_000,
      "a ready replacement pod",
    );
  });

  await t.test("a failing liveness probe restarts the container (restartCount goes up)", async () => {
    await cluster.ok(["apply", "-f", "-"], LIVENESS_FAIL);
    const restarts = async () => {
      const pod = JSON.parse(await cluster.ok(["get", "pod", "liveness-fail", "-o", "json"])) as PodJson;
      return pod.status?.containerStatuses?.[0]?.restartCount ?? 0;
    };
    await waitFor(async () => (await restarts()) >= 1, 60_000, "restartCount >= 1");
    const events = await cluster.ok([
      "get",
      "events",
      "--field-selector",
      "involvedObject.name=liveness-fail",
    ]);
    assert.match(events, /Liveness probe failed|Unhealthy|Killing/);
    await cluster.ok(["delete", "pod", "liveness-fail", "--wait=false"]);
  });

  await t.test("a failing readiness probe takes the pod out of the service's endpoints", async () => {
    await cluster.ok(["apply", "-f", "-"], READINESS_TOGGLE);
    await cluster.ok(["rollout", "status", "deployment/toggle", "--timeout=120s"]);
    await waitFor(
      async () => (await readyEndpointIPs(cluster, "toggle")).length === 2,
      30_000,
      "2 endpoints",
    );
    const [victim, other] = (await pods(cluster, "app=toggle")).filter(isReady);
    assert.ok(victim?.status?.podIP && other?.status?.podIP);
    assert.equal((await httpGet(`http://${victim.status.podIP}:8080/unready`)).status, 200);
    await waitFor(
      async () => {
        const ips = await readyEndpointIPs(cluster, "toggle");
        return ips.length === 1 && ips[0] === other.status?.podIP;
      },
      30_000,
      "the unready pod to leave the endpoints",
    );
    const pod = JSON.parse(await cluster.ok(["get", "pod", victim.metadata.name, "-o", "json"])) as PodJson;
    assert.equal(pod.status?.conditions?.find((c) => c.type === "Ready")?.status, "False");
    await cluster.ok(["delete", "-f", "-", "--wait=false"], READINESS_TOGGLE);
  });

  await t.test("dig resolves the service name to its ClusterIP", { skip: !rolledOut }, async (st) => {
    if (!need(st, existsSync(DIG), "dig is not installed (Debian dnsutils)")) return;
    const r = await run(DIG, [
      `@${DNS_IP}`,
      "-p",
      dnsPort,
      "hello.default.svc.cluster.local",
      "+short",
      "+time=2",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), clusterIP);
  });

  await t.test("examples/job.yaml completes", async () => {
    await cluster.ok(["apply", "-f", join(EXAMPLES, "job.yaml")]);
    await cluster.ok(["wait", "--for=condition=complete", "job/pi", "--timeout=120s"]);
    assert.match(await cluster.ok(["logs", "job/pi"]), /^pi = 3\.14159265358979/);
  });

  await t.test("examples/cronjob.yaml is accepted (a run takes a minute; tried by hand)", async () => {
    const out = await cluster.ok(["apply", "--dry-run=server", "-f", join(EXAMPLES, "cronjob.yaml")]);
    assert.match(out, /cronjob.batch\/tick created \(server dry run\)/);
  });

  await t.test("Ctrl-C stops everything: exit 0 and no pod process remains", async () => {
    const podPids = processesUnder(root, cluster.child.pid === undefined ? [] : [cluster.child.pid]);
    assert.ok(podPids.length >= 3, `pod processes found: ${podPids.length}`);
    const code = await cluster.interrupt(60_000);
    assert.equal(code, 0, cluster.output().slice(-3000));
    await waitFor(() => podPids.every((pid) => !alive(pid)), 5_000, "pod processes to be gone");
    assert.deepEqual(processesUnder(root), []);
    assert.ok(!existsSync(join(dataDir, "kite.lock")), "the lock file is removed");
  });

  await t.test("a restart on the same data dir keeps the cluster's state", async () => {
    up = await startKiteUp(dataDir, cacheDir, args);
    const again = up;
    await waitFor(
      async () => /kite-node-1\s+Ready/.test(await again.ok(["get", "nodes"])),
      30_000,
      "the node to re-register Ready",
    );
    assert.match(await again.ok(["get", "deployment", "hello", "-o", "name"]), /deployment.apps\/hello/);
    await again.ok(["rollout", "status", "deployment/hello", "--timeout=120s"]);
    await waitFor(
      async () => (await pods(again, "app=hello")).filter(isReady).length === 3,
      120_000,
      "3 ready hello pods after the restart",
    );
    assert.equal(await again.interrupt(60_000), 0);
    assert.deepEqual(processesUnder(root), []);
  });
});
