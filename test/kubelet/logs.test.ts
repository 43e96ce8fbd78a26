import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { test } from "node:test";
import { type LogOptions, writeContainerLog } from "../../src/kubelet/logs.js";
import { CriLogWriter } from "../../src/runtime/logfile.js";
import { waitFor } from "../support/require.js";

class Collect extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

const stamp = (sec: number) => `2026-01-01T00:00:${String(sec).padStart(2, "0")}.123456789Z`;
const line = (sec: number, content: string, stream = "stdout", tag = "F") =>
  `${stamp(sec)} ${stream} ${tag} ${content}\n`;

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(join(tmpdir(), "kite-logs-"));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const log = join(dir, "0.log");
  await fs.writeFile(`${log}.2`, line(1, "one") + line(2, "two", "stderr"));
  await fs.writeFile(`${log}.1`, line(3, "thr", "stdout", "P") + line(3, "ee") + line(4, "four"));
  await fs.writeFile(log, "not a cri line\n" + line(5, "five") + line(6, "six"));
  return log;
}

async function read(log: string, opts: LogOptions): Promise<string> {
  const out = new Collect();
  await writeContainerLog(log, opts, out, new AbortController().signal);
  return out.text;
}

test("reads rotated files oldest first and joins partial lines", async (t) => {
  const log = await setup(t);
  assert.equal(await read(log, {}), "one\ntwo\nthree\nfour\nfive\nsix\n");
});

test("tailLines, timestamps, since, limitBytes", async (t) => {
  const log = await setup(t);
  assert.equal(await read(log, { tailLines: 2 }), "five\nsix\n");
  assert.equal(await read(log, { tailLines: 4 }), "three\nfour\nfive\nsix\n", "a joined line counts once");
  assert.equal(await read(log, { tailLines: 0 }), "");
  assert.equal(await read(log, { tailLines: 100 }), "one\ntwo\nthree\nfour\nfive\nsix\n");
  assert.equal(await read(log, { tailLines: 2, timestamps: true }), `${stamp(5)} five\n${stamp(6)} six\n`);
  assert.equal(
    await read(log, { timestamps: true, sinceTime: new Date("2026-01-01T00:00:03Z") }).then(
      (s) => s.split("\n")[0],
    ),
    `${stamp(3)} three`,
    "the joined line carries one timestamp",
  );
  assert.equal(await read(log, { sinceTime: new Date("2026-01-01T00:00:04Z") }), "four\nfive\nsix\n");
  assert.equal(await read(log, { sinceSeconds: 60 }), "", "all lines are older than a minute");
  assert.equal(await read(log, { limitBytes: 6 }), "one\ntw");
  assert.equal(await read(join(log, "..", "missing.log"), {}), "");
});

test("follow streams new lines, survives rotation, stops on abort", async (t) => {
  const log = await setup(t);
  const out = new Collect();
  const ac = new AbortController();
  t.after(() => ac.abort());
  const done = writeContainerLog(log, { follow: true, tailLines: 1 }, out, ac.signal);
  await waitFor(() => out.text === "six\n", 5000, "tail before follow");
  await fs.appendFile(log, line(7, "seven"));
  await waitFor(() => out.text === "six\nseven\n", 5000, "appended line");
  // Rotate the way the runtime does: the live file becomes .1, a new one starts.
  await fs.appendFile(log, line(8, "eight"));
  await fs.rename(`${log}.1`, `${log}.3`);
  await fs.rename(log, `${log}.1`);
  await fs.writeFile(log, line(9, "nine"));
  await waitFor(
    () => out.text === "six\nseven\neight\nnine\n",
    5000,
    `lines across rotation, have ${JSON.stringify(out.text)}`,
  );
  ac.abort();
  await done;
});

test("follow ends once the container is no longer running", async (t) => {
  const log = await setup(t);
  const out = new Collect();
  let running = true;
  t.after(() => {
    running = false;
  });
  const done = writeContainerLog(
    log,
    { follow: true, tailLines: 1 },
    out,
    new AbortController().signal,
    () => running,
  );
  await waitFor(() => out.text === "six\n", 5000, "history");
  await fs.appendFile(log, line(7, "last words"));
  await waitFor(() => out.text === "six\nlast words\n", 5000, "line while running");
  running = false;
  await done;
  assert.equal(out.text, "six\nlast words\n");
});

test("reads back what the runtime's CriLogWriter wrote, across its rotations", async (t) => {
  const dir = await fs.mkdtemp(join(tmpdir(), "kite-logs-"));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const log = join(dir, "c", "0.log");
  const writer = new CriLogWriter(log, 200, 5);
  await writer.open();
  const stdout = new PassThrough();
  const attached = writer.attach(stdout, "stdout");
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i} ${"x".repeat(i)}`);
  for (const l of lines) stdout.write(`${l}\n`);
  stdout.end("no newline at the end");
  await attached;
  await writer.close();
  assert.ok((await fs.readdir(join(dir, "c"))).includes("0.log.1"), "rotated at least once");
  const all = await read(log, {});
  const kept = all.split("\n").filter((s) => s !== "");
  assert.equal(kept.at(-1), "no newline at the end");
  // Rotation keeps 5 files, so the oldest lines may be gone; what is there is in order and complete.
  const start = lines.indexOf(kept[0]!);
  assert.ok(start >= 0, kept[0]);
  assert.deepEqual(kept.slice(0, -1), lines.slice(start));
  assert.equal(await read(log, { tailLines: 2 }), `${lines.at(-1)}\nno newline at the end\n`);
});
