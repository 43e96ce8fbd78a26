// THE differential test: one etcdctl 3.4 script against real etcd 3.4 and against `kite store`;
// after normalizing IDs, hashes, durations and sizes both must print exactly the same.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/ports.js";
import { need, waitFor } from "../support/require.js";
import { normalizeResult, runScript, type StepResult } from "./etcdctl-script.js";

const ETCD = "/usr/bin/etcd";
const ETCDCTL = "/usr/bin/etcdctl";
const KITE_MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Whether the compiled CLI has the `store` command wired in. */
function kiteStoreAvailable(): boolean {
  if (!existsSync(KITE_MAIN)) return false;
  return (
    spawnSync(process.execPath, [KITE_MAIN, "store", "--help"], { stdio: "ignore", timeout: 20_000 })
      .status === 0
  );
}

function etcdctlOk(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = spawn(
      ETCDCTL,
      [`--endpoints=${endpoint}`, "--command-timeout=1s", "--dial-timeout=1s", "get", "probe"],
      {
        env: { ...process.env, ETCDCTL_API: "3" },
        stdio: "ignore",
      },
    );
    c.on("close", (code) => resolve(code === 0));
    c.on("error", () => resolve(false));
  });
}

interface Side {
  name: string;
  endpoint: string;
  workDir: string;
  proc: ChildProcess;
  log: string[];
}

async function startSide(
  name: string,
  command: string,
  args: (port: number, dir: string) => string[],
): Promise<Side> {
  const workDir = mkdtempSync(join(tmpdir(), `kite-etcdctl-${name}-`));
  const port = await freePort();
  // etcdctl is given host:port, not http://host:port: with a scheme, `endpoint status` and
  // `endpoint hashkv` send ":authority: http://host:port", which Node's HTTP/2 server rejects
  // (RST_STREAM PROTOCOL_ERROR) while Go's accepts. A known kite limitation, kept out of the diff.
  const endpoint = `127.0.0.1:${port}`;
  const proc = spawn(command, args(port, workDir), { stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  proc.stdout?.on("data", (d: Buffer) => log.push(d.toString()));
  proc.stderr?.on("data", (d: Buffer) => log.push(d.toString()));
  const side = { name, endpoint, workDir, proc, log };
  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null)
          throw new Error(`${name} exited early (${proc.exitCode}): ${log.join("").slice(-2000)}`);
        return etcdctlOk(endpoint);
      },
      20_000,
      `${name} to serve at ${endpoint}`,
    );
  } catch (err) {
    stopSide(side);
    throw err;
  }
  return side;
}

function stopSide(side: Side): void {
  if (side.proc.pid !== undefined && side.proc.exitCode === null) process.kill(side.proc.pid, "SIGKILL");
  rmSync(side.workDir, { recursive: true, force: true });
}

async function startEtcd(): Promise<Side> {
  const peerPort = await freePort();
  const peer = `http://127.0.0.1:${peerPort}`;
  return startSide("etcd", ETCD, (port, dir) => [
    "--name=n1",
    `--data-dir=${join(dir, "data")}`,
    `--listen-client-urls=http://127.0.0.1:${port}`,
    `--advertise-client-urls=http://127.0.0.1:${port}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=n1=${peer}`,
  ]);
}

async function startKite(): Promise<Side> {
  return startSide("kite", process.execPath, (port, dir) => [
    KITE_MAIN,
    "store",
    "--name",
    "n1",
    "--data-dir",
    join(dir, "data"),
    "--listen-client-urls",
    `http://127.0.0.1:${port}`,
    // etcd's default timings (kite's own are faster), so both have etcd's minimum lease TTL.
    "--heartbeat-interval=100",
    "--election-timeout=1000",
  ]);
}

async function runOn(side: Side): Promise<StepResult[]> {
  const raw = await runScript(side.endpoint, side.workDir);
  return raw.map((r) => normalizeResult(r, side));
}

function render(r: StepResult): string {
  return `exit=${r.exitCode}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

test("etcdctl 3.4 prints the same against kite store as against etcd 3.4", {
  timeout: 180_000,
}, async (t) => {
  if (!need(t, existsSync(ETCD) && existsSync(ETCDCTL), "etcd 3.4 and etcdctl are not installed")) return;
  const etcd = await startEtcd();
  let etcdResults: StepResult[];
  try {
    etcdResults = await runOn(etcd);
  } finally {
    stopSide(etcd);
  }
  if (process.env.KITE_ETCDCTL_DUMP === "1")
    for (const r of etcdResults) console.log(`$ ${r.command}\n${render(r)}`);
  // The etcd half alone checks the script itself did what it meant to (so the comparison is not vacuous).
  assert.ok(
    etcdResults.some((r) => r.stdout.includes("Snapshot saved at <DIR>/snap.db")),
    "etcd snapshot save",
  );
  assert.ok(
    etcdResults.some((r) => r.stderr.includes("required revision has been compacted")),
    "etcd compaction",
  );

  if (!need(t, kiteStoreAvailable(), `\`kite store\` is not available from ${KITE_MAIN}`)) return;
  const kite = await startKite();
  let kiteResults: StepResult[];
  try {
    kiteResults = await runOn(kite);
  } finally {
    stopSide(kite);
  }
  const diffs: string[] = [];
  for (const [i, want] of etcdResults.entries()) {
    const got = kiteResults[i];
    if (got === undefined || render(got) !== render(want)) {
      diffs.push(
        `#${i} $ ${want.command}\n=== etcd\n${render(want)}=== kite\n${got ? render(got) : "<missing>"}`,
      );
    }
  }
  assert.equal(
    diffs.length,
    0,
    `${diffs.length} of ${etcdResults.length} etcdctl steps differ:\n\n${diffs.join("\n\n")}`,
  );
});
