// The real `dig` (Debian dnsutils) against kite's DNS backed by an in-process apiserver: A, SRV,
// PTR (-x), a headless service, REFUSED outside the zone, NXDOMAIN inside it, and TCP (+tcp).
// dig sends EDNS with a cookie by default, so this also checks what a stock resolver sends.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { need } from "../support/require.js";
import { DB_IPS, type DnsFixture, HELLO_IP, startFixture } from "./cluster-fixture.js";

const run = promisify(execFile);
const DIG = "/usr/bin/dig";
const ADDRESS = "127.53.0.3";
const haveDig = existsSync(DIG);

describe("dig", () => {
  let fx: DnsFixture | undefined;
  before(async () => {
    if (haveDig) fx = await startFixture(ADDRESS);
  });
  after(async () => {
    await fx?.close();
  });

  const dig = async (...args: string[]) => {
    const { stdout } = await run(
      DIG,
      [`@${ADDRESS}`, "-p", String(fx!.dns.port), "+time=2", "+tries=1", ...args],
      {
        timeout: 15_000,
      },
    );
    return stdout;
  };
  const short = async (...args: string[]) =>
    (await dig("+short", ...args))
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .sort();
  const status = async (...args: string[]) => /status: (\w+)/.exec(await dig(...args))?.[1];

  test("A, SRV, PTR and a headless service", async (t) => {
    if (!need(t, haveDig, "dig (Debian dnsutils) is not installed")) return;
    assert.deepEqual(await short("hello.default.svc.cluster.local"), [HELLO_IP]);
    assert.deepEqual(await short("SRV", "_http._tcp.hello.default.svc.cluster.local"), [
      "0 100 80 hello.default.svc.cluster.local.",
    ]);
    assert.deepEqual(await short("-x", HELLO_IP), ["hello.default.svc.cluster.local."]);
    assert.deepEqual(await short("db.default.svc.cluster.local"), [...DB_IPS].sort());
    assert.deepEqual(await short("+tcp", "db-0.db.default.svc.cluster.local"), [DB_IPS[0]]);
    const full = await dig("hello.default.svc.cluster.local");
    assert.match(full, /flags: qr aa rd;/);
  });

  test("REFUSED outside the cluster domain, NXDOMAIN inside it", async (t) => {
    if (!need(t, haveDig, "dig (Debian dnsutils) is not installed")) return;
    assert.equal(await status("example.com"), "REFUSED");
    assert.equal(await status("nope.default.svc.cluster.local"), "NXDOMAIN");
    assert.equal(await status("+tcp", "nope.default.svc.cluster.local"), "NXDOMAIN");
    assert.equal(await status("AAAA", "hello.default.svc.cluster.local"), "NOERROR");
  });
});
