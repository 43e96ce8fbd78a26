import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseCriLogLine } from "../../src/runtime/index.js";
import { waitFor } from "../support/require.js";
import { assertGone, harness, nextExit, readLog } from "./helpers.js";

test("a container's output lands in its CRI log; exit 3 is reason Error; the listener fires once", async (t) => {
  const h = await harness(t);
  const sb = await h.sandbox();
  const id = await h.container(sb, ["sh", "-c", "echo hi; echo err >&2; printf 'no newline'; exit 3"], {
    name: "app",
  });
  assert.equal(h.rt.containerStatus(id)?.state, "created");
  const exits: string[] = [];
  h.rt.onContainerExit((s) => exits.push(s.id));
  const exited = nextExit(h.rt, id);
  await h.start(id);
  const st = await exited;
  assert.equal(st.state, "exited");
  assert.equal(st.exitCode, 3);
  assert.equal(st.reason, "Error");
  assert.ok(st.startedAt && st.finishedAt && st.finishedAt >= st.startedAt);
  assert.deepEqual(h.rt.containerStatus(id), st);
  const lines = readLog(st.logPath).map((l) => parseCriLogLine(l)!);
  const of = (stream: string) => lines.filter((l) => l.stream === stream).map((l) => [l.partial, l.content]);
  assert.deepEqual(of("stdout"), [
    [false, "hi"],
    [false, "no newline"],
  ]);
  assert.deepEqual(of("stderr"), [[false, "err"]]);
  assert.deepEqual(exits, [id]);
  await h.rt.stopContainer(id, 5); // already exited: resolves at once
  await assert.rejects(h.rt.startContainer(id), /only a created container can start/);
});

test("exit 0 is Completed; env has PATH, HOSTNAME and KITE_ROOT; cwd is the root with mounts as symlinks", async (t) => {
  const h = await harness(t);
  const sb = await h.sandbox("web-0");
  const vol = join(h.dir, "vol");
  mkdirSync(vol);
  writeFileSync(join(vol, "k"), "v1");
  const id = await h.container(
    sb,
    [
      "sh",
      "-c",
      'echo "$HOSTNAME|$FOO|$KITE_ROOT|$(pwd)|$(cat etc/config/k)|$(cat "$KITE_ROOT/etc/config/k")"; command -v sh >/dev/null && echo path-ok',
    ],
    { env: { FOO: "bar" }, mounts: [{ hostPath: vol, containerPath: "/etc/config", readOnly: true }] },
  );
  const exited = nextExit(h.rt, id);
  await h.start(id);
  const st = await exited;
  assert.equal(st.exitCode, 0);
  assert.equal(st.reason, "Completed");
  const out = readLog(st.logPath).map((l) => parseCriLogLine(l)!.content);
  const [host, foo, root, cwd, k1, k2] = out[0]!.split("|");
  assert.deepEqual([host, foo, k1, k2], ["web-0", "bar", "v1", "v1"]);
  assert.equal(cwd, root);
  assert.match(root!, new RegExp(`/containers/${id}/root$`));
  assert.equal(readlinkSync(join(root!, "etc", "config")), vol);
  assert.equal(out[1], "path-ok");
});

test("workingDir is used when it exists on the host; env can override HOSTNAME", async (t) => {
  const h = await harness(t);
  const sb = await h.sandbox();
  const id = await h.container(sb, ["sh", "-c", 'echo "$(pwd) $HOSTNAME"'], {
    workingDir: h.dir,
    env: { HOSTNAME: "mine" },
  });
  const exited = nextExit(h.rt, id);
  await h.start(id);
  const st = await exited;
  assert.equal(parseCriLogLine(readLog(st.logPath)[0]!)?.content, `${h.dir} mine`);
});

test("graceful stop: a TERM-trapping process exits within the grace; one ignoring TERM is killed after it", async (t) => {
  const h = await harness(t);
  const sb = await h.sandbox();
  const ready = (id: string) => async () =>
    readLog(h.rt.containerStatus(id)!.logPath).some((l) => l.endsWith(" ready"));
  const polite = await h.container(sb, [
    "sh",
    "-c",
    "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done",
  ]);
  const stubborn = await h.container(sb, [
    "sh",
    "-c",
    "trap '' TERM; echo ready; while :; do sleep 0.05; done",
  ]);
  await h.start(polite);
  await h.start(stubborn);
  assert.equal(h.rt.containerStatus(polite)?.state, "running");
  assert.ok(h.rt.containerStatus(polite)?.pid);
  await waitFor(ready(polite), 10_000, "polite ready");
  await waitFor(ready(stubborn), 10_000, "stubborn ready");

  let t0 = Date.now();
  await h.rt.stopContainer(polite, 30);
  assert.ok(Date.now() - t0 < 10_000, "did not wait for the grace period");
  const p = h.rt.containerStatus(polite)!;
  assert.equal(p.exitCode, 0);
  assert.ok(readLog(p.logPath).some((l) => l.endsWith(" bye")));

  t0 = Date.now();
  await h.rt.stopContainer(stubborn, 1);
  assert.ok(Date.now() - t0 >= 950, "waited for the grace period");
  const s = h.rt.containerStatus(stubborn)!;
  assert.equal(s.exitCode, 137);
  assert.equal(s.reason, "Error");
  assert.equal(h.pids.size, 2);
});

test("missing command → ContainerCannotRun; missing executable → StartError 128", async (t) => {
  const h = await harness(t);
  const sb = await h.sandbox();
  const none = await h.container(sb, [], { image: "nginx" });
  await assert.rejects(h.rt.startContainer(none), (e: Error & { reason?: string }) => {
    assert.equal(e.reason, "ContainerCannotRun");
    assert.equal(
      e.message,
      'process runtime: image "nginx" has no entrypoint here; give the container a command',
    );
    return true;
  });
  assert.equal(h.rt.containerStatus(none)?.reason, "ContainerCannotRun");

  const missing = await h.container(sb, ["kite-no-such-binary", "x"]);
  await assert.rejects(h.rt.startContainer(missing), (e: Error & { reason?: string }) => {
    assert.equal(e.reason, "StartError");
    assert.equal(e.message, 'exec: "kite-no-such-binary": executable file not found in $PATH');
    return true;
  });
  const st = h.rt.containerStatus(missing)!;
  assert.deepEqual([st.state, st.exitCode, st.reason], ["exited", 128, "StartError"]);

  const abs = await h.container(sb, ["/nonexistent/kite-bin"]);
  await assert.rejects(
    h.rt.startContainer(abs),
    /exec: "\/nonexistent\/kite-bin": stat \/nonexistent\/kite-bin: no such file/,
  );
});

test("exec: output and exit code, failure, timeout kills its group; not running → error", async (t) => {
  const h = await harness(t);
  const sb = await h.sandbox();
  const id = await h.container(sb, ["sleep", "60"], { env: { GREETING: "hello" } });
  await h.start(id);
  const ok = await h.rt.exec(id, ["sh", "-c", 'echo "$GREETING from $(pwd)"; echo warn >&2'], 10_000);
  assert.equal(ok.exitCode, 0);
  assert.equal(ok.timedOut, false);
  assert.match(ok.stdout, new RegExp(`^hello from .*/containers/${id}/root\\n$`));
  assert.equal(ok.stderr, "warn\n");
  const fail = await h.rt.exec(id, ["sh", "-c", "exit 7"], 10_000);
  assert.equal(fail.exitCode, 7);
  const nf = await h.rt.exec(id, ["kite-no-such-binary"], 10_000);
  assert.equal(nf.exitCode, 127);
  assert.match(nf.stderr, /executable file not found/);
  const big = await h.rt.exec(id, ["sh", "-c", "head -c 200000 /dev/zero"], 10_000);
  assert.equal(big.stdout.length, 64 * 1024);

  const t0 = Date.now();
  const slow = await h.rt.exec(id, ["sh", "-c", "echo $$ > exec.pid; sleep 30 & sleep 30"], 300);
  assert.equal(slow.timedOut, true);
  assert.ok(Date.now() - t0 < 10_000);
  const execPid = Number(readFileSync(join(h.dir, "state", "containers", id, "root", "exec.pid"), "utf8"));
  assert.ok(execPid > 0);
  await assertGone([execPid]);
  await h.rt.stopContainer(id, 0);
  await assert.rejects(h.rt.exec(id, ["true"], 1000), /is not running/);
  await assert.rejects(h.rt.exec(id, [], 1000), /is not running|non-empty argv/);
});

test("stopSandbox kills every container; removeSandbox removes them; stats report memory and cpu", async (t) => {
  const h = await harness(t);
  const sb = await h.sandbox();
  const a = await h.container(sb, [
    "sh",
    "-c",
    "i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done; sleep 60",
  ]);
  const b = await h.container(sb, ["sleep", "60"]);
  await h.start(a);
  await h.start(b);
  await waitFor(async () => ((await h.rt.stats(a))?.cpuNanos ?? 0) > 0, 20_000, "cpu time");
  const stats = (await h.rt.stats(a))!;
  assert.ok(stats.memoryBytes > 100_000, `rss ${stats.memoryBytes}`);
  assert.equal(await h.rt.stats("nope"), undefined);
  await h.rt.stopSandbox(sb);
  for (const id of [a, b]) assert.equal(h.rt.containerStatus(id)?.state, "exited");
  assert.equal((await h.rt.listSandboxes()).length, 1, "stopped, not removed");
  assert.equal(h.rt.listContainers(sb).length, 2);
  await h.rt.removeSandbox(sb);
  await h.rt.removeSandbox(sb);
  assert.equal(h.rt.listContainers(sb).length, 0);
  assert.deepEqual(await h.rt.listSandboxes(), []);
});

test("bad input is rejected with a clear error", async (t) => {
  const h = await harness(t);
  const sb = await h.sandbox();
  await assert.rejects(
    h.rt.createContainer("nope", {
      name: "x",
      image: "i",
      argv: ["true"],
      env: {},
      mounts: [],
      logPath: "/tmp/x",
      attempt: 0,
    }),
    /sandbox nope not found/,
  );
  await assert.rejects(
    h.container(sb, ["true"], { logPath: "relative.log" }),
    /logPath must be an absolute path/,
  );
  await assert.rejects(
    h.container(sb, ["true"], { mounts: [{ hostPath: h.dir, containerPath: "/", readOnly: false }] }),
    /not allowed/,
  );
  await assert.rejects(
    h.container(sb, ["true"], { mounts: [{ hostPath: h.dir, containerPath: "relative", readOnly: false }] }),
    /invalid mount/,
  );
  await assert.rejects(h.rt.startContainer("nope"), /container nope not found/);
  await h.rt.removeContainer("nope");
});
