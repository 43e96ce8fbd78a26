import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Wal } from "../../src/store/wal/index.js";
import { waitFor } from "../support/require.js";
import { entry, RecordingLogger, tempDir } from "./fixtures/wal-support.js";

const WRITER = fileURLToPath(new URL("./fixtures/wal-writer.js", import.meta.url));

for (const killAfter of [50, 400, 1000]) {
  test(`every index acknowledged before SIGKILL survives (kill after ${killAfter} acks)`, async (t) => {
    const dir = join(await tempDir(t), "wal");
    const child = spawn(process.execPath, [WRITER, dir, "4096"], { stdio: ["ignore", "pipe", "pipe"] });
    let exited = false;
    const exit = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => {
        exited = true;
        resolve(signal);
      }),
    );
    t.after(() => {
      if (!exited) child.kill("SIGKILL");
    });
    const acked: number[] = [];
    let partial = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) acked.push(Number(line));
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));

    await waitFor(() => acked.length >= killAfter || exited, 30_000, `${killAfter} acknowledgements`);
    assert.equal(exited, false, `writer exited early: ${stderr}`);
    child.kill("SIGKILL");
    assert.equal(await exit, "SIGKILL");

    // Acknowledgements arrive in save order, so they are exactly 1..n.
    assert.deepEqual(
      acked,
      Array.from({ length: acked.length }, (_, i) => i + 1),
    );
    const segments = (await readdir(dir)).filter((n) => n.endsWith(".wal"));
    assert.ok(segments.length > 1, "expected the writer to have cut segments");

    const r = await Wal.open(dir, undefined, { logger: new RecordingLogger() });
    t.after(() => r.wal.close());
    assert.ok(
      r.entries.length >= acked.length,
      `recovered ${r.entries.length} < acknowledged ${acked.length}`,
    );
    for (const e of r.entries) assert.deepEqual(e, entry(e.index, 1, 100));
    assert.equal(r.entries[0]!.index, 1);
    assert.ok(r.hardState.commit >= acked.length);
  });
}
