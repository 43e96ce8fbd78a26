// `kite store` as a process: a fault signal that arrives while the member is still starting must
// not kill it (SIGUSR2's default action is to terminate), and is applied once the store is open.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { waitFor } from "../support/require.js";
import { freePort } from "./cluster-support.js";

const cli = new URL("../../src/cli/main.js", import.meta.url).pathname;
const cleanups: Array<() => void> = [];
after(() => {
  for (const c of cleanups) c();
});

test("a SIGUSR2 fault signal during start-up is applied once the store is open, not fatal", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kite-storecmd-"));
  const faultFile = join(dir, "faults");
  writeFileSync(faultFile, "clear");
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      cli,
      "store",
      "--name=n1",
      `--data-dir=${join(dir, "data")}`,
      `--listen-client-urls=http://127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, KITE_FAULT_FILE: faultFile } },
  );
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  let log = "";
  child.stderr.on("data", (d: Buffer) => {
    log += d.toString();
  });
  await waitFor(() => log.includes("starting store member"), 10_000, "the start-up line");
  process.kill(child.pid!, "SIGUSR2");
  await waitFor(
    () => child.signalCode !== null || child.exitCode !== null || log.includes("ready to serve"),
    15_000,
    "the member to be ready or gone",
  );
  assert.equal(child.signalCode, null, `kite store died by ${child.signalCode}:\n${log}`);
  assert.equal(child.exitCode, null, `kite store exited:\n${log}`);
  // A lone member has no peer links, so the spec is read and refused, which shows it was handled.
  await waitFor(
    () => /applied fault spec|cannot apply the fault spec/.test(log),
    5_000,
    "the pending fault spec",
  );
  process.kill(child.pid!, "SIGTERM");
  // Seen once in CI (20:12, 2026-11-26): no exit within 10 s; the member's log tells why next time.
  await waitFor(() => child.exitCode !== null, 10_000, "a clean stop").catch((err: Error) => {
    throw new Error(`${err.message}; kite store's log:\n${log}`);
  });
  assert.equal(child.exitCode, 0);
});
