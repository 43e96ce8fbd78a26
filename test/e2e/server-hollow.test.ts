// Issue 6's "done when", end to end: `kite server` (store, apiserver, controller-manager,
// scheduler) and `kite hollow` nodes run as child processes of the compiled CLI, and the real
// kubectl drives them: a Deployment's ReplicaSet and pods, rollout status, set image and rollout
// undo, scaling, a Job to completion, ResourceQuota admission, namespace deletion, a node whose
// heartbeat stops (NotReady within the grace period, taint, eviction after tolerationSeconds,
// replacements on healthy nodes) and the "endpoints flapping" case (nodes whose status reports are
// slower than the grace period but whose Leases are renewed stay Ready and keep their endpoints).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { haveKubectl, type KiteServerProcess, startKiteServer } from "../apiserver/kubectl-support.js";
import { need, waitFor } from "../support/require.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const GRACE_MS = 8_000;
const MONITOR_MS = 1_000;
const TOLERATION_S = 5;
const DOWN = "kite-e2e-down-0";
const HEALTHY = ["kite-e2e-0", "kite-e2e-1", "kite-e2e-2"];

// biome-ignore lint/suspicious/noExplicitAny: kubectl's JSON is picked apart field by field
type Json = any;

interface Hollow {
  child: ChildProcess;
  output(): string;
}

function startHollow(kubeconfig: string, args: string[]): Hollow {
  const child = spawn(
    process.execPath,
    ["--enable-source-maps", CLI, "hollow", "--kubeconfig", kubeconfig, ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let text = "";
  child.stdout?.on("data", (c: Buffer) => {
    text += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    text += c.toString();
  });
  return { child, output: () => text };
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, signal);
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, "SIGKILL");
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

const DEPLOYMENT = `apiVersion: v1
kind: Namespace
metadata:
  name: kite-e2e
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kite-e2e
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: kite-e2e
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
`;

const JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: pi
  namespace: kite-e2e
spec:
  completions: 3
  parallelism: 2
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: perl:5.34
        command: ["perl", "-e", "print 1"]
`;

const TOLERANT = `apiVersion: v1
kind: Namespace
metadata:
  name: kite-fail
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: tolerant
  namespace: kite-fail
spec:
  replicas: 4
  selector:
    matchLabels:
      app: tolerant
  template:
    metadata:
      labels:
        app: tolerant
    spec:
      # Drawn to the node that will fail, so that some of its pods have to move.
      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            preference:
              matchExpressions:
              - key: kubernetes.io/hostname
                operator: In
                values: ["${DOWN}"]
      tolerations:
      - key: node.kubernetes.io/unreachable
        operator: Exists
        effect: NoExecute
        tolerationSeconds: ${TOLERATION_S}
      - key: node.kubernetes.io/not-ready
        operator: Exists
        effect: NoExecute
        tolerationSeconds: ${TOLERATION_S}
      containers:
      - name: app
        image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: tolerant
  namespace: kite-fail
spec:
  selector:
    app: tolerant
  ports:
  - port: 80
`;

function readyOf(node: Json): Json {
  return (node.status?.conditions ?? []).find((c: Json) => c.type === "Ready");
}

test("kite server + kite hollow + kubectl: issue 6 end to end", { timeout: 180_000 }, async (t) => {
  if (!need(t, haveKubectl, "kubectl is not installed at /usr/bin/kubectl")) return;
  const srv: KiteServerProcess = await startKiteServer([
    "--store-port",
    "0",
    "--node-monitor-grace-period",
    `${GRACE_MS}ms`,
    "--node-monitor-period",
    `${MONITOR_MS}ms`,
  ]);
  const hollows: Hollow[] = [];
  t.after(async () => {
    for (const h of hollows) await stopProcess(h.child);
    await srv.stop();
  });
  const json = async (args: string[]): Promise<Json> => JSON.parse(await srv.ok([...args, "-o", "json"]));
  const started = Date.now();
  const log = (m: string) => console.log(`+${((Date.now() - started) / 1000).toFixed(1)}s ${m}`);
  const step = async (name: string, body: () => Promise<void>) => {
    log(name);
    await body();
  };
  try {
    // Healthy nodes: Leases every second, an unchanged status only every 10 minutes (slower than
    // the grace period: the "endpoints flapping" case). One more node in its own process, to kill.
    const common = ["--lease-interval", "1s", "--status-interval", "1s", "--status-report-interval", "10m"];
    const healthy = startHollow(srv.kubeconfig, [
      ...common,
      "--nodes",
      "3",
      "--name-prefix",
      "kite-e2e-",
      "--pod-completion-seconds",
      "2",
    ]);
    hollows.push(healthy);
    const doomed = startHollow(srv.kubeconfig, [
      ...common,
      "--nodes",
      "1",
      "--name-prefix",
      "kite-e2e-down-",
    ]);
    hollows.push(doomed);
    await waitFor(
      () => /hollow nodes running/.test(healthy.output()) && /hollow nodes running/.test(doomed.output()),
      30_000,
      "hollow nodes",
    );
    await srv.ok(["wait", "--for=condition=Ready", "node", "--all", "--timeout=30s"]);
    const registered = new Map<string, string>();
    for (const node of (await json(["get", "nodes"])).items)
      registered.set(node.metadata.name, readyOf(node).lastTransitionTime);
    assert.deepEqual([...registered.keys()].sort(), [DOWN, ...HEALTHY].sort());
    log("4 hollow nodes Ready");

    await step("ResourceQuota admission rejects a create beyond the quota", async () => {
      await srv.ok(["create", "namespace", "kite-quota"]);
      await srv.ok(["create", "quota", "q1", "--hard=pods=2", "-n", "kite-quota"]);
      await waitFor(
        async () => (await json(["get", "quota", "q1", "-n", "kite-quota"])).status?.used?.pods === "0",
        20_000,
        "quota q1 counted",
      );
      await srv.ok(["run", "p1", "--image=nginx", "-n", "kite-quota"]);
      await srv.ok(["run", "p2", "--image=nginx", "-n", "kite-quota"]);
      const third = await srv.kubectl(["run", "p3", "--image=nginx", "-n", "kite-quota"]);
      assert.notEqual(third.code, 0);
      assert.match(
        third.stderr,
        /Error from server \(Forbidden\): pods "p3" is forbidden: exceeded quota: q1, requested: pods=1, used: pods=2, limited: pods=2/,
      );
      await srv.ok(["create", "quota", "compute", "--hard=requests.cpu=1", "-n", "kite-quota"]);
      await waitFor(
        async () =>
          (await json(["get", "quota", "compute", "-n", "kite-quota"])).status?.used?.["requests.cpu"] !==
          undefined,
        20_000,
        "quota compute counted",
      );
      const bare = await srv.kubectl(["run", "p4", "--image=nginx", "-n", "kite-quota"]);
      assert.match(
        bare.stderr,
        /pods "p4" is forbidden: failed quota: compute: must specify requests.cpu for: p4/,
      );
      log("quota admission checked");
    });

    await step("apply a Deployment: ReplicaSet, pods bound and Running, rollout status", async () => {
      await srv.ok(["apply", "-f", "-"], DEPLOYMENT);
      await srv.ok(["rollout", "status", "deployment/web", "-n", "kite-e2e", "--timeout=60s"]);
      const rs = (await json(["get", "rs", "-n", "kite-e2e", "-l", "app=web"])).items;
      assert.equal(rs.length, 1);
      assert.equal(rs[0].metadata.ownerReferences[0].kind, "Deployment");
      assert.equal(rs[0].metadata.ownerReferences[0].name, "web");
      const pods = (await json(["get", "pods", "-n", "kite-e2e", "-l", "app=web"])).items;
      assert.equal(pods.length, 3);
      for (const p of pods) {
        assert.ok(registered.has(p.spec.nodeName), `pod ${p.metadata.name} bound to ${p.spec.nodeName}`);
        assert.equal(p.status.phase, "Running");
      }
      log("deployment rolled out");
    });

    const webImages = async () =>
      (await json(["get", "pods", "-n", "kite-e2e", "-l", "app=web"])).items
        .filter((p: Json) => !p.metadata.deletionTimestamp)
        .map((p: Json) => p.spec.containers[0].image);
    const revision = async () =>
      (await json(["get", "deployment", "web", "-n", "kite-e2e"])).metadata.annotations[
        "deployment.kubernetes.io/revision"
      ];

    await step("set image rolls the deployment, rollout undo rolls it back", async () => {
      await srv.ok(["set", "image", "deployment/web", "web=nginx:1.28", "-n", "kite-e2e"]);
      await srv.ok(["rollout", "status", "deployment/web", "-n", "kite-e2e", "--timeout=60s"]);
      assert.equal(await revision(), "2");
      await waitFor(
        async () => (await webImages()).every((i: string) => i === "nginx:1.28"),
        20_000,
        "pods on nginx:1.28",
      );
      await srv.ok(["rollout", "undo", "deployment/web", "-n", "kite-e2e"]);
      await srv.ok(["rollout", "status", "deployment/web", "-n", "kite-e2e", "--timeout=60s"]);
      assert.equal(await revision(), "3");
      const deploy = await json(["get", "deployment", "web", "-n", "kite-e2e"]);
      assert.equal(deploy.spec.template.spec.containers[0].image, "nginx:1.27");
      // One generation per template change (apply, set image, undo); the revision annotation the
      // controller records goes through status and moves none.
      assert.equal(deploy.metadata.generation, 3);
      assert.equal(deploy.status.observedGeneration, 3);
      await waitFor(
        async () => {
          const images = await webImages();
          return images.length === 3 && images.every((i: string) => i === "nginx:1.27");
        },
        20_000,
        "pods back on nginx:1.27",
      );
      const history = await srv.ok(["rollout", "history", "deployment/web", "-n", "kite-e2e"]);
      assert.match(history, /^2\s/m);
      assert.match(history, /^3\s/m);
      log("set image and undo done");
    });

    await step("scale up and down", async () => {
      await srv.ok(["scale", "deployment/web", "--replicas=5", "-n", "kite-e2e"]);
      await srv.ok(["rollout", "status", "deployment/web", "-n", "kite-e2e", "--timeout=60s"]);
      assert.equal((await json(["get", "deployment", "web", "-n", "kite-e2e"])).status.readyReplicas, 5);
      await srv.ok(["scale", "deployment/web", "--replicas=1", "-n", "kite-e2e"]);
      await waitFor(
        async () => (await json(["get", "pods", "-n", "kite-e2e", "-l", "app=web"])).items.length === 1,
        30_000,
        "one web pod",
      );
      const d = await json(["get", "deployment", "web", "-n", "kite-e2e"]);
      assert.equal(d.status.replicas, 1);
      log("scaled 3 -> 5 -> 1");
    });

    await step("a Job runs to completion", async () => {
      await srv.ok(["create", "-f", "-"], JOB);
      await srv.ok(["wait", "--for=condition=complete", "job/pi", "-n", "kite-e2e", "--timeout=60s"]);
      const job = await json(["get", "job", "pi", "-n", "kite-e2e"]);
      assert.equal(job.status.succeeded, 3);
      log("job complete");
    });

    await step("slow status reports with a renewed Lease: nodes stay Ready, endpoints stay", async () => {
      // Wait until the healthy nodes' last status report is older than the grace period.
      await waitFor(
        async () => {
          const node = await json(["get", "node", HEALTHY[0]!]);
          return Date.now() - Date.parse(readyOf(node).lastHeartbeatTime) > GRACE_MS + 2 * MONITOR_MS;
        },
        30_000,
        "a status report older than the grace period",
      );
      for (const name of HEALTHY) {
        const node = await json(["get", "node", name]);
        const ready = readyOf(node);
        assert.equal(ready.status, "True", `${name} Ready`);
        assert.ok(Date.now() - Date.parse(ready.lastHeartbeatTime) > GRACE_MS, `${name} status is stale`);
        assert.equal(ready.lastTransitionTime, registered.get(name), `${name} never changed Ready`);
        assert.equal(node.spec.taints, undefined, `${name} untainted`);
        const lease = await json(["get", "lease", name, "-n", "kube-node-lease"]);
        assert.ok(Date.now() - Date.parse(lease.spec.renewTime) < GRACE_MS, `${name} lease renewed`);
      }
      const ep = await json(["get", "endpoints", "web", "-n", "kite-e2e"]);
      const pod = (await json(["get", "pods", "-n", "kite-e2e", "-l", "app=web"])).items[0];
      assert.deepEqual(
        (ep.subsets?.[0]?.addresses ?? []).map((a: Json) => a.ip),
        [pod.status.podIP],
      );
      assert.equal(ep.subsets[0].notReadyAddresses, undefined);
      log("flapping case holds");
    });

    await step("deleting the namespace cleans it out", async () => {
      await srv.ok(["delete", "namespace", "kite-e2e", "--timeout=90s"]);
      const gone = await srv.kubectl(["get", "namespace", "kite-e2e"]);
      assert.match(gone.stderr, /NotFound/);
      for (const kind of [
        "pods",
        "replicasets",
        "deployments",
        "jobs",
        "services",
        "endpoints",
        "configmaps",
      ]) {
        const left = (await json(["get", kind, "-A", "--field-selector", "metadata.namespace=kite-e2e"]))
          .items;
        assert.deepEqual(
          left.map((o: Json) => o.metadata.name),
          [],
          `${kind} left in kite-e2e`,
        );
      }
      log("namespace deleted");
    });

    await step("a node whose heartbeat stops: NotReady, tainted, pods evicted and rescheduled", async () => {
      await srv.ok(["apply", "-f", "-"], TOLERANT);
      await srv.ok(["rollout", "status", "deployment/tolerant", "-n", "kite-fail", "--timeout=60s"]);
      const before = (await json(["get", "pods", "-n", "kite-fail"])).items;
      const onDown = before.filter((p: Json) => p.spec.nodeName === DOWN).map((p: Json) => p.metadata.name);
      assert.ok(onDown.length > 0, `a tolerant pod on ${DOWN}: ${before.map((p: Json) => p.spec.nodeName)}`);
      await stopProcess(doomed.child, "SIGKILL");
      const killedAt = Date.now();
      let notReadyAfter = 0;
      await waitFor(
        async () => {
          const ready = readyOf(await json(["get", "node", DOWN]));
          if (ready.status !== "Unknown") return false;
          notReadyAfter = Date.now() - killedAt;
          return true;
        },
        GRACE_MS + 10 * MONITOR_MS + 10_000,
        `${DOWN} Ready=Unknown`,
      );
      log(`${DOWN} Ready=Unknown ${notReadyAfter} ms after its heartbeats stopped`);
      // Lease renewals are 1 s apart, so the node went silent up to 1 s before the kill.
      assert.ok(notReadyAfter <= GRACE_MS + 2 * MONITOR_MS + 3_000, `NotReady after ${notReadyAfter} ms`);
      const node = await json(["get", "node", DOWN]);
      const taint = (node.spec.taints ?? []).find(
        (x: Json) => x.key === "node.kubernetes.io/unreachable" && x.effect === "NoExecute",
      );
      assert.ok(taint, `unreachable NoExecute taint: ${JSON.stringify(node.spec.taints)}`);
      const taintedAt = Date.parse(taint.timeAdded);
      await waitFor(
        async () => {
          const pods = (await json(["get", "pods", "-n", "kite-fail"])).items;
          return onDown.every(
            (n: string) => pods.find((p: Json) => p.metadata.name === n)?.metadata.deletionTimestamp,
          );
        },
        TOLERATION_S * 1000 + 15_000,
        "pods on the dead node evicted",
      );
      const evicted = (await json(["get", "pods", "-n", "kite-fail"])).items.filter((p: Json) =>
        onDown.includes(p.metadata.name),
      );
      for (const p of evicted) {
        const after = Date.parse(p.metadata.deletionTimestamp) - taintedAt;
        // Both stamps have second precision.
        assert.ok(
          after >= (TOLERATION_S - 1) * 1000,
          `${p.metadata.name} evicted ${after} ms after the taint`,
        );
      }
      log(`evicted ${evicted.length} pod(s) after their ${TOLERATION_S} s toleration`);
      await waitFor(
        async () => {
          const pods = (await json(["get", "pods", "-n", "kite-fail"])).items.filter(
            (p: Json) => !p.metadata.deletionTimestamp,
          );
          return (
            pods.length === 4 &&
            pods.every((p: Json) => HEALTHY.includes(p.spec.nodeName) && p.status.phase === "Running")
          );
        },
        30_000,
        "replacements Running on healthy nodes",
      );
      await srv.ok(["rollout", "status", "deployment/tolerant", "-n", "kite-fail", "--timeout=30s"]);
      await waitFor(
        async () => {
          const ep = await json(["get", "endpoints", "tolerant", "-n", "kite-fail"]);
          const nodes = (ep.subsets?.[0]?.addresses ?? []).map((a: Json) => a.nodeName);
          return nodes.length === 4 && nodes.every((n: string) => HEALTHY.includes(n));
        },
        20_000,
        "endpoints on healthy nodes",
      );
      for (const name of HEALTHY) {
        const ready = readyOf(await json(["get", "node", name]));
        assert.equal(ready.status, "True");
        assert.equal(ready.lastTransitionTime, registered.get(name), `${name} never flapped`);
      }
      log("node failure handled");
    });
  } catch (err) {
    console.log(`kite server output (tail):\n${srv.output().slice(-4000)}`);
    for (const h of hollows) console.log(`hollow output (tail):\n${h.output().slice(-2000)}`);
    throw err;
  }
});
