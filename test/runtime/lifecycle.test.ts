// OOM kills, log rotation of a real container, and what a restarted kite does with leftovers.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { logFilesOldestFirst, parseCriLogLine } from "../../src/runtime/index.js";
import { readProcStat } from "../../src/runtime/process/proc.js";
import { killLeftoverGroup } from "../../src/runtime/process/recover.js";
import { waitFor } from "../support/require.js";
import { assertGone, gone, harness, nextExit, readLog } from "./helpers.js";

test("memory over the limit → OOMKilled, exit 137", async (t) => {
  const h = await harness(t, { memoryPollMs: 50 });
  const sb = await h.sandbox();
  const grow = "const a=[];setInterval(()=>{if(a.length<40)a.push(Buffer.alloc(8<<20,1))},20)";
  const id = await h.container(sb, [process.execPath, "-e", grow], {
    memoryLimitBytes: 50 * 1024 * 1024,
    oomScoreAdj: 1000,
  });
  const exited = nextExit(h.rt, id);
  await h.start(id);
  const pid = h.rt.containerStatus(id)?.pid;
  let adj: string | undefined;
  try {
    adj = pid ? readFileSync(`/proc/${pid}/oom_score_adj`, "utf8").trim() : undefined;
  } catch {
    // already OOM-killed: nothing left to read
  }
  if (adj !== undefined) assert.equal(adj, "1000");
  const st = await exited;
  assert.equal(st.reason, "OOMKilled");
  assert.equal(st.exitCode, 137);
});

test("a chatty container's log rotates at logMaxBytes, keeping logMaxFiles files", async (t) => {
  const h = await harness(t, { logMaxBytes: 4096, logMaxFiles: 3 });
  const sb = await h.sandbox();
  const id = await h.container(sb, [
    "sh",
    "-c",
    "i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done",
  ]);
  const exited = nextExit(h.rt, id);
  await h.start(id);
  const st = await exited;
  assert.equal(st.exitCode, 0);
  const files = logFilesOldestFirst(st.logPath);
  assert.deepEqual(files, [`${st.logPath}.2`, `${st.logPath}.1`, st.logPath]);
  const contents = files.flatMap((f) => readLog(f)).map((l) => parseCriLogLine(l)!.content);
  assert.equal(contents.at(-1), "line-499");
  const first = Number(contents[0]!.slice(5));
  assert.ok(first > 0, "old lines were rotated away");
  assert.deepEqual(
    contents,
    Array.from({ length: 500 - first }, (_, i) => `line-${first + i}`),
  );
});

test("a restarted runtime lists what was there, kills its leftover group, leaves an unrelated pid alone", async (t) => {
  const h = await harness(t);
  const sb = await h.sandbox("keep");
  const sbIp = (await h.rt.listSandboxes())[0]!.ip;
  // The leftover forks a child into its group: both must die.
  const left = await h.container(sb, ["sh", "-c", "sleep 60 & echo $! > child.pid; wait"]);
  await h.start(left);
  const leftPid = h.rt.containerStatus(left)!.pid!;
  const childPidFile = join(h.dir, "state", "containers", left, "root", "child.pid");
  await waitFor(() => readFileSync(childPidFile, { flag: "a+" }).length > 0, 10_000, "child pid file");
  const childPid = Number(readFileSync(childPidFile, "utf8"));
  h.pids.add(childPid);

  // An unrelated process recorded under a container whose start time no longer matches (pid reuse).
  const unrelated = spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
  t.after(() => {
    try {
      process.kill(-unrelated.pid!, "SIGKILL");
    } catch {}
  });
  await waitFor(async () => !!(await readProcStat(unrelated.pid!)), 5000, "unrelated started");
  const fake = await h.container(sb, ["sleep", "60"]);
  await h.start(fake);
  h.pids.add(h.rt.containerStatus(fake)!.pid!);
  await h.rt.stopContainer(fake, 0);
  const fakeFile = join(h.dir, "state", "containers", fake, "container.json");
  const rec = JSON.parse(readFileSync(fakeFile, "utf8"));
  const realStart = (await readProcStat(unrelated.pid!))!.startTime;
  Object.assign(rec, {
    state: "running",
    pid: unrelated.pid,
    pidStartTime: realStart - 1,
    exitCode: undefined,
    reason: undefined,
  });
  await h.rt.close();
  writeFileSync(fakeFile, JSON.stringify(rec));

  assert.equal(await gone(leftPid), false, "close() does not kill containers");
  const rt2 = await h.reopen();
  await assertGone([leftPid, childPid]);
  assert.equal(await gone(unrelated.pid!), false, "an unrelated process is never touched");

  const st = rt2.containerStatus(left)!;
  assert.deepEqual([st.state, st.exitCode], ["exited", 137]);
  assert.match(st.message ?? "", /restarted/);
  assert.equal(rt2.containerStatus(fake)?.state, "exited");
  assert.deepEqual(
    (await rt2.listSandboxes()).map((s) => [s.id, s.ip]),
    [[sb, sbIp]],
  );
  assert.equal(rt2.listContainers(sb).length, 2);
  // What was persisted after recovery says exited too: a third start does not try again.
  assert.equal(JSON.parse(readFileSync(fakeFile, "utf8")).state, "exited");
});

test("leftover members of a group whose leader is gone are killed; a live pid with another start time is not", async (t) => {
  // The leader waits on stdin so its start time can be read, then exits leaving `sleep` in its group.
  const leader = spawn("sh", ["-c", "sleep 60 & echo $!; read x"], {
    detached: true,
    stdio: ["pipe", "pipe", "ignore"],
  });
  t.after(() => {
    try {
      process.kill(-leader.pid!, "SIGKILL");
    } catch {}
  });
  const memberPid = await new Promise<number>((resolve) =>
    leader.stdout!.once("data", (d) => resolve(Number(String(d).trim()))),
  );
  const start = (await readProcStat(leader.pid!))!.startTime;
  const exited = new Promise((r) => leader.once("exit", r));
  leader.stdin!.end("\n");
  await exited;
  assert.equal(await gone(memberPid), false, "the member outlived its leader");
  assert.equal(await killLeftoverGroup(leader.pid!, start), "killed");
  await assertGone([leader.pid!, memberPid]);

  const other = spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
  t.after(() => {
    try {
      process.kill(-other.pid!, "SIGKILL");
    } catch {}
  });
  await waitFor(async () => !!(await readProcStat(other.pid!)), 5000, "other started");
  const otherStart = (await readProcStat(other.pid!))!.startTime;
  assert.equal(await killLeftoverGroup(other.pid!, otherStart - 1), "gone");
  assert.equal(await killLeftoverGroup(other.pid!, undefined), "unverifiable");
  assert.equal(await gone(other.pid!), false);
});
