// The kubelet's HTTP endpoint with a FakeRuntime: /healthz, /metrics under upstream's names,
// /pods, and /containerLogs with tailLines, timestamps, previous and upstream's error texts.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FakeClock } from "../../src/client/index.js";
import { containerStatus, type Harness, startHarness } from "./kubelet-harness.js";

let h: Harness;
before(async () => {
  h = await startHarness({ clock: new FakeClock(Date.parse("2026-04-01T00:00:00Z")) });
});
after(async () => {
  await h?.close();
});

async function get(path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${h.kubelet.port}${path}`);
  return { status: res.status, text: await res.text() };
}

test("healthz, metrics, pods and container logs", async () => {
  assert.deepEqual(await get("/healthz"), { status: 200, text: "ok" });
  await h.createPod({ containers: [{ name: "c", image: "x", command: ["sleep", "1"] }] });
  await h.createPod(
    {
      containers: [
        {
          name: "w",
          image: "x",
          env: [{ name: "A", valueFrom: { secretKeyRef: { name: "missing", key: "k" } } }],
        },
      ],
    },
    { name: "waits" },
  );
  await h.waitPod("p", (p) => p.status?.phase === "Running", "Running");
  await h.waitPod(
    "waits",
    (p) => containerStatus(p, "w")?.state?.waiting?.reason === "CreateContainerConfigError",
    "config error",
  );

  const metrics = (await get("/metrics")).text;
  assert.match(metrics, /^kubelet_running_pods 2$/m);
  assert.match(metrics, /^kubelet_running_containers\{container_state="running"\} 1$/m);
  assert.match(metrics, /^kubelet_node_name\{node="kite-node-1"\} 1$/m);
  assert.match(metrics, /^kubelet_pod_start_duration_seconds_count 1$/m);
  assert.match(metrics, /^kubelet_pod_worker_duration_seconds_count\{operation="create"\} \d+$/m);
  assert.match(metrics, /^kubelet_started_containers_total\{container_type="container"\} 1$/m);

  const pods = JSON.parse((await get("/pods")).text);
  assert.equal(pods.kind, "PodList");
  assert.deepEqual(pods.items.map((p: { metadata: { name: string } }) => p.metadata.name).sort(), [
    "p",
    "waits",
  ]);

  assert.deepEqual(await get("/containerLogs/default/p/c"), {
    status: 200,
    text: "hello from c attempt 0\n",
  });
  const stamped = await get("/containerLogs/default/p/c?timestamps=true");
  assert.match(stamped.text, /^2026-04-01T00:00:\d\d(\.\d+)?Z hello from c attempt 0\n$/);
  assert.deepEqual(await get("/containerLogs/default/p/c?tailLines=0"), { status: 200, text: "" });
  assert.deepEqual(await get("/containerLogs/default/p/c?previous=true"), {
    status: 400,
    text: 'previous terminated container "c" in pod "p" not found',
  });
  assert.equal((await get("/containerLogs/default/p/c?tailLines=x")).status, 400);
  assert.deepEqual(await get("/containerLogs/default/nope/c"), {
    status: 404,
    text: 'pod "nope" does not exist',
  });
  assert.deepEqual(await get("/containerLogs/default/p/zz"), {
    status: 404,
    text: 'container "zz" not found in pod "p"',
  });
  assert.deepEqual(await get("/containerLogs/default/waits/w"), {
    status: 400,
    text: 'container "w" in pod "waits" is waiting to start: CreateContainerConfigError',
  });

  // After a restart, previous is the earlier attempt's log.
  h.fake.exit("c", 1);
  await h.waitPod(
    "p",
    (p) => containerStatus(p, "c")?.restartCount === 1 && containerStatus(p, "c")?.state?.running,
    "restarted",
  );
  assert.deepEqual(await get("/containerLogs/default/p/c?previous=true"), {
    status: 200,
    text: "hello from c attempt 0\n",
  });
  assert.deepEqual(await get("/containerLogs/default/p/c"), {
    status: 200,
    text: "hello from c attempt 1\n",
  });
});
