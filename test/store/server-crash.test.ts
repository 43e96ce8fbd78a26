import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, test } from "node:test";
import { StoreServer } from "../../src/store/server/server.js";
import { waitFor } from "../support/require.js";
import { b, quietLog, tempDir, text } from "./support/server.js";

const fixture = new URL("./fixtures/store-writer.js", import.meta.url).pathname;
const dir = tempDir();
const children: ChildProcess[] = [];
after(() => {
  for (const c of children)
    if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, "SIGKILL");
  dir.remove();
});

/** Runs the writer until it has `acks` acknowledged puts, then SIGKILLs it; returns key → revision. */
async function writeThenKill(prefix: string, acks: number): Promise<Map<string, number>> {
  const child = spawn(process.execPath, [fixture, dir.path, prefix], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const acked = new Map<string, number>();
  let stderr = "";
  let buffered = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  child.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      const [tag, key, rev] = line.split(" ");
      if (tag === "ack") acked.set(key!, Number(rev));
    }
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitFor(() => acked.size >= acks || child.exitCode !== null, 30_000, `${acks} acknowledged writes`);
  assert.equal(child.exitCode, null, `writer exited early: ${stderr}`);
  process.kill(child.pid!, "SIGKILL");
  await exited;
  assert.equal(child.signalCode, "SIGKILL");
  return acked;
}

test("SIGKILL during a stream of acknowledged writes loses none of them, twice over", async () => {
  const first = await writeThenKill("one", 1500);
  const second = await writeThenKill("two", 1000);
  const s = await StoreServer.open({ dataDir: dir.path, log: quietLog() });
  try {
    for (const [prefix, acked] of [
      ["one", first],
      ["two", second],
    ] as const) {
      let maxRev = 0;
      for (const [key, rev] of acked) {
        const r = await s.range({ key: b(key), serializable: true });
        assert.equal(r.count, 1, `acknowledged ${key} (revision ${rev}) is missing after the crash`);
        assert.equal(text(r.kvs[0]!.value), `value-of-${key}`);
        assert.equal(r.kvs[0]!.modRevision, rev);
        maxRev = Math.max(maxRev, rev);
      }
      assert.ok(s.header().revision >= maxRev, `${prefix}: store revision behind an acknowledged write`);
    }
    const all = await s.range({ key: b("one/"), rangeEnd: b("one0"), countOnly: true });
    assert.ok(all.count >= first.size);
  } finally {
    await s.close();
  }
});
