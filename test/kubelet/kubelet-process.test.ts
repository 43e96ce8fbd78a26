// The kubelet with the real process runtime: `sh -c` containers run as host processes, reach
// Running with a pod IP from the node's CIDR, their output comes back through the apiserver's
// pods/log, a container without a command shows RunContainerError, and deleting the pod leaves
// no process behind (nor does stopping the kubelet).
import assert from "node:assert/strict";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createProcessRuntime, type Runtime } from "../../src/runtime/index.js";
import { waitFor } from "../support/require.js";
import { containerStatus, type Harness, PODS, startHarness } from "./kubelet-harness.js";

let h: Harness;
before(async () => {
  h = await startHarness({
    podCIDR: "127.244.7.0/24",
    runtime: (root) => createProcessRuntime({ stateDir: join(root, "runtime"), nodeIP: "127.0.0.1" }),
  });
});
after(async () => {
  await h?.close();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function podLogs(name: string): Promise<{ status: number; text: string }> {
  const cfg = h.client.config;
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(`/api/v1/namespaces/default/pods/${name}/log`, cfg.server),
      {
        ca: cfg.ca,
        cert: cfg.cert,
        key: cfg.key,
        headers: cfg.token ? { Authorization: `Bearer ${cfg.token}` } : {},
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString("utf8");
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function pids(runtime: Runtime): number[] {
  return runtime.listContainers().flatMap((c) => (c.state === "running" && c.pid ? [c.pid] : []));
}

test("sh containers run, log through pods/log, show errors, and leave nothing behind", async () => {
  await h.createPod({
    terminationGracePeriodSeconds: 2,
    containers: [
      {
        name: "main",
        image: "busybox",
        command: ["sh", "-c", 'echo "hello from $HOSTNAME"; while true; do sleep 0.2; done'],
      },
    ],
  });
  const pod = await h.waitPod("p", (p) => p.status?.phase === "Running", "Running", 20_000);
  assert.match(pod.status.podIP, /^127\.244\.7\.\d+$/);
  assert.match(containerStatus(pod, "main")?.containerID, /^process:\/\//);
  await waitFor(
    async () => (await podLogs("p")).text.includes("hello from p"),
    10_000,
    "log line via pods/log",
  );
  const running = pids(h.runtime);
  assert.equal(running.length, 1);

  await h.createPod({ containers: [{ name: "web", image: "nginx" }] }, { name: "nocmd" });
  const nocmd = await h.waitPod(
    "nocmd",
    (p) => containerStatus(p, "web")?.state?.waiting?.reason === "RunContainerError",
    "RunContainerError",
  );
  assert.match(containerStatus(nocmd, "web")?.state?.waiting?.message, /nginx.*command/);

  // A finished pod keeps its status and logs but gives its sandbox (and IP) back.
  await h.createPod(
    { restartPolicy: "Never", containers: [{ name: "job", image: "x", command: ["sh", "-c", "echo done"] }] },
    { name: "job" },
  );
  const job = await h.waitPod("job", (p) => p.status?.phase === "Succeeded", "Succeeded", 20_000);
  assert.equal(containerStatus(job, "job")?.state?.terminated?.reason, "Completed");
  await waitFor(
    async () => !(await h.runtime.listSandboxes()).some((s) => s.config.name === "job"),
    10_000,
    "sandbox released",
  );
  assert.equal((await podLogs("job")).text, "done\n");

  await h.client.resource(PODS, "default").delete("p");
  await waitFor(async () => (await h.getPod("p")) === undefined, 20_000, "pod p deleted by the kubelet");
  for (const pid of running) assert.equal(alive(pid), false, `process ${pid} is gone`);

  await h.createPod(
    { containers: [{ name: "s", image: "x", command: ["sh", "-c", "sleep 300"] }] },
    { name: "last" },
  );
  await h.waitPod("last", (p) => p.status?.phase === "Running", "Running", 20_000);
  const last = pids(h.runtime);
  assert.equal(last.length, 1);
  await h.kubelet.stop();
  for (const pid of last) assert.equal(alive(pid), false, `process ${pid} is gone after stop`);
});
