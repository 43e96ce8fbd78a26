import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createProcessRuntime } from "../../src/runtime/index.js";
import { Ipam, parseIpv4Cidr } from "../../src/runtime/ipam.js";
import { tempDir } from "./helpers.js";

test("parseIpv4Cidr normalizes and rejects bad input", () => {
  assert.deepEqual(parseIpv4Cidr("127.244.1.7/24"), {
    cidr: "127.244.1.0/24",
    first: 0x7ff40102,
    last: 0x7ff401fe,
  });
  for (const bad of ["", "10.0.0.0", "10.0.0.0/31", "10.0.0.256/24", "fd00::/64", "x/24"]) {
    assert.throws(() => parseIpv4Cidr(bad), /invalid pod CIDR/, bad);
  }
});

test("allocates from the CIDR skipping network, gateway and broadcast; releases; persists", async (t) => {
  const dir = tempDir(t);
  const ipam = await Ipam.load(dir);
  await assert.rejects(ipam.allocate("a"), /no pod CIDR yet/);
  await ipam.setCidr("10.9.0.0/29"); // .0 network, .1 gateway, .7 broadcast → .2-.6
  const got = [];
  for (const owner of ["a", "b", "c", "d", "e"]) got.push(await ipam.allocate(owner));
  assert.deepEqual(got, ["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]);
  assert.equal(await ipam.allocate("c"), "10.9.0.4", "same owner, same IP");
  await assert.rejects(ipam.allocate("f"), /no IP addresses available in range 10\.9\.0\.0\/29/);

  await ipam.release("b");
  await ipam.release("b"); // idempotent
  assert.equal(await ipam.allocate("f"), "10.9.0.3");

  const saved = JSON.parse(readFileSync(join(dir, "ipam.json"), "utf8"));
  assert.equal(saved.cidr, "10.9.0.0/29");
  assert.equal(saved.allocations["10.9.0.3"], "f");

  const reloaded = await Ipam.load(dir);
  assert.equal(reloaded.cidr, "10.9.0.0/29");
  assert.deepEqual(reloaded.allocations(), ipam.allocations());
  assert.equal(await reloaded.allocate("a"), "10.9.0.2");
  await assert.rejects(reloaded.allocate("g"), /no IP addresses available/);
});

test("a freed address is not handed out again at once (round robin)", async (t) => {
  const ipam = await Ipam.load(tempDir(t));
  await ipam.setCidr("10.9.1.0/28");
  const a = await ipam.allocate("a");
  await ipam.release("a");
  const b = await ipam.allocate("b");
  assert.notEqual(a, b);
});

test("sandboxes get pod IPs, hostNetwork the node IP; ids are stable per uid; IPs survive a restart", async (t) => {
  const dir = tempDir(t);
  const opts = { stateDir: join(dir, "state"), nodeIP: "127.1.0.3" };
  const rt = await createProcessRuntime(opts);
  const cfg = (uid: string, hostNetwork = false) => ({
    uid,
    name: `p-${uid}`,
    namespace: "ns",
    hostNetwork,
    logDirectory: join(dir, "logs", uid),
    labels: { app: "x" },
  });
  await assert.rejects(rt.runSandbox(cfg("u1")), /no pod CIDR yet/);
  const host = await rt.runSandbox(cfg("h", true));
  assert.equal(host.ip, "127.1.0.3");
  rt.updatePodCIDR("fd00::/64");
  await assert.rejects(rt.runSandbox(cfg("u1")), /invalid pod CIDR "fd00::\/64"/);
  rt.updatePodCIDR("127.244.3.0/24");
  const [s1, again] = await Promise.all([rt.runSandbox(cfg("u1")), rt.runSandbox(cfg("u1"))]);
  assert.equal(s1.ip, "127.244.3.2");
  assert.deepEqual(again, s1);
  const s2 = await rt.runSandbox(cfg("u2"));
  assert.equal(s2.ip, "127.244.3.3");
  await assert.rejects(rt.runSandbox({ ...cfg("x"), uid: "" }), /non-empty uid/);
  await rt.close();

  // An allocation whose sandbox was never written (a crash in between) is freed on restart.
  const ipamFile = join(dir, "state", "ipam.json");
  const saved = JSON.parse(readFileSync(ipamFile, "utf8"));
  saved.allocations["127.244.3.9"] = "f".repeat(64);
  writeFileSync(ipamFile, JSON.stringify(saved));
  const rt2 = await createProcessRuntime(opts);
  assert.equal(JSON.parse(readFileSync(ipamFile, "utf8")).allocations["127.244.3.9"], undefined);
  t.after(() => rt2.close());
  const listed = await rt2.listSandboxes();
  assert.deepEqual(
    listed.map((s) => [s.id, s.ip, s.config.labels.app]).sort(),
    [
      [host.id, "127.1.0.3", "x"],
      [s1.id, "127.244.3.2", "x"],
      [s2.id, "127.244.3.3", "x"],
    ].sort(),
  );
  assert.equal((await rt2.runSandbox(cfg("u1"))).ip, "127.244.3.2", "existing uid → existing sandbox");
  await rt2.removeSandbox(s1.id);
  await rt2.removeSandbox(s1.id);
  assert.equal((await rt2.runSandbox(cfg("u3"))).ip, "127.244.3.4");
  assert.equal((await rt2.runSandbox(cfg("u1"))).ip, "127.244.3.5", "recreated after removal: a fresh IP");
});
