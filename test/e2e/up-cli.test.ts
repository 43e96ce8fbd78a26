// `kite up` without a cluster: flag parsing, help, and the data-dir lock.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DataDirLockedError, lockDataDir } from "../../src/cli/commands/datadir-lock.js";
import { parseUpFlags, UpFlagError } from "../../src/cli/commands/up-flags.js";
import { CLI } from "./kite-up.js";

test("kite up flags: defaults, values and errors", () => {
  const d = parseUpFlags([]);
  assert.equal(d.dataDir, join(homedir(), ".kite"));
  assert.equal(d.nodes, 1);
  assert.equal(d.port, 6443);
  assert.equal(d.dnsPort, undefined);
  const f = parseUpFlags(["--nodes", "3", "--data-dir=/tmp/k", "--port", "0", "--dns-port=1053", "-v"]);
  assert.deepEqual(
    { nodes: f.nodes, dataDir: f.dataDir, port: f.port, dnsPort: f.dnsPort, verbose: f.verbose },
    { nodes: 3, dataDir: "/tmp/k", port: 0, dnsPort: 1053, verbose: true },
  );
  assert.equal(parseUpFlags(["--data-dir=~/x"]).dataDir, join(homedir(), "x"));
  assert.throws(() => parseUpFlags(["--nodes", "0"]), UpFlagError);
  assert.throws(() => parseUpFlags(["--nodes", "255"]), /want a node count 1-254/);
  assert.throws(() => parseUpFlags(["--port", "x"]), /invalid argument "x" for "--port"/);
  assert.throws(() => parseUpFlags(["--nodes"]), /flag needs an argument: --nodes/);
  assert.throws(() => parseUpFlags(["--frob"]), /unknown flag: --frob/);
  assert.throws(() => parseUpFlags(["extra"]), /unexpected argument "extra"/);
});

test("kite up --help prints kubectl-style usage; a bad flag exits 1 with a hint", () => {
  const help = spawnSync(process.execPath, [CLI, "up", "--help"], { encoding: "utf8" });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage:\n {2}kite up \[flags\]/);
  assert.match(help.stdout, /--data-dir string/);
  const bad = spawnSync(process.execPath, [CLI, "up", "--nodes", "zero"], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /invalid argument "zero" for "--nodes"[\s\S]*Run 'kite up --help' for usage/);
  const top = spawnSync(process.execPath, [CLI, "help"], { encoding: "utf8" });
  assert.match(top.stdout, /\n {2}up {2,}Start a whole cluster/);
});

test("the data-dir lock: taken, refused while held by a live kite, stale ones taken over", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kite-lock-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lock = lockDataDir(dir);
  assert.equal(readFileSync(lock.path, "utf8"), `${process.pid}\n`);
  lock.release();
  // A lock left by a pid that no longer exists is stale.
  writeFileSync(join(dir, "kite.lock"), "999999999\n");
  lockDataDir(dir).release();
  // A live process whose command line names kite holds it.
  const holder = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", "kite"], { stdio: "ignore" });
  t.after(() => holder.kill("SIGKILL"));
  writeFileSync(join(dir, "kite.lock"), `${holder.pid}\n`);
  assert.throws(
    () => lockDataDir(dir),
    (err: unknown) =>
      err instanceof DataDirLockedError &&
      err.pid === holder.pid &&
      /in use by another kite/.test(err.message),
  );
});
