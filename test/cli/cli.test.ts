import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const bin = new URL("../../src/cli/main.js", import.meta.url).pathname;

function kite(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
}

test("kite with no arguments prints help and version", () => {
  const r = kite();
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage:\n {2}kite <command>/);
  assert.match(r.stdout, /kite version v\d+\.\d+\.\d+/);
});

test("kite version prints the package version", () => {
  const r = kite("version");
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^kite version v\d+\.\d+\.\d+\n$/);
});

test("an unknown command is a clear error with a non-zero exit", () => {
  const r = kite("frobnicate");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});
