import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { logFilesOldestFirst, parseCriLogLine } from "../../src/runtime/index.js";
import { CriLogWriter, criTimestamp, MAX_LOG_LINE_BYTES } from "../../src/runtime/logfile.js";
import { tempDir } from "./helpers.js";

test("parseCriLogLine reads the CRI format and rejects anything else", () => {
  const l = parseCriLogLine("2016-10-06T00:17:09.669794202Z stdout F hello world\n");
  assert.deepEqual(l, {
    time: new Date("2016-10-06T00:17:09.669Z"),
    stream: "stdout",
    partial: false,
    content: "hello world",
  });
  assert.deepEqual(parseCriLogLine("2016-10-06T00:17:09Z stderr P  two  spaces")?.content, " two  spaces");
  assert.equal(parseCriLogLine("2016-10-06T00:17:09Z stderr F")?.content, "");
  assert.equal(
    parseCriLogLine("2016-10-06T02:17:09+02:00 stdout F x")?.time.toISOString(),
    "2016-10-06T00:17:09.000Z",
  );
  for (const bad of [
    "",
    "garbage",
    "2016-10-06T00:17:09Z stdin F x",
    "notatime stdout F x",
    "2016-10-06T00:17:09Z stdout X x",
  ]) {
    assert.equal(parseCriLogLine(bad), undefined, bad);
  }
});

test("criTimestamp is RFC3339Nano and increases", () => {
  assert.equal(criTimestamp(new Date("2020-01-02T03:04:05.678Z")), "2020-01-02T03:04:05.678000000Z");
  const a = criTimestamp();
  const b = criTimestamp();
  assert.match(a, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  assert.ok(b > a);
});

test("logFilesOldestFirst lists rotated files numerically, oldest first", (t) => {
  const dir = tempDir(t);
  const base = join(dir, "0.log");
  assert.deepEqual(logFilesOldestFirst(base), []);
  for (const f of ["0.log", "0.log.1", "0.log.2", "0.log.10", "0.log.tmp", "1.log"])
    writeFileSync(join(dir, f), "");
  assert.deepEqual(logFilesOldestFirst(base), [`${base}.10`, `${base}.2`, `${base}.1`, base]);
  assert.deepEqual(logFilesOldestFirst(join(dir, "missing", "0.log")), []);
});

test("writer splits long lines into P parts, flushes an unterminated tail as F, keeps streams apart", async (t) => {
  const path = join(tempDir(t), "c", "0.log");
  const w = new CriLogWriter(path, 1 << 30, 5);
  await w.open();
  const out = new PassThrough();
  const err = new PassThrough();
  const done = Promise.all([w.attach(out, "stdout"), w.attach(err, "stderr")]);
  const long = "x".repeat(MAX_LOG_LINE_BYTES * 2 + 5);
  out.write("one\ntw");
  out.write(`o\r\n${long}\n`);
  err.write("oops\n");
  out.end("tail");
  err.end();
  await done;
  await w.close();
  const lines = readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => parseCriLogLine(l)!);
  const stdout = lines
    .filter((l) => l.stream === "stdout")
    .map((l) => [l.partial, l.content.length > 20 ? l.content.length : l.content]);
  assert.deepEqual(stdout, [
    [false, "one"],
    [false, "two"],
    [true, MAX_LOG_LINE_BYTES],
    [true, MAX_LOG_LINE_BYTES],
    [false, "xxxxx"],
    [false, "tail"],
  ]);
  assert.deepEqual(
    lines.filter((l) => l.stream === "stderr").map((l) => l.content),
    ["oops"],
  );
});

test("writer rotates past maxBytes and keeps maxFiles in total", async (t) => {
  const path = join(tempDir(t), "0.log");
  const w = new CriLogWriter(path, 1000, 3);
  await w.open();
  const out = new PassThrough();
  const done = w.attach(out, "stdout");
  for (let i = 0; i < 200; i++) out.write(`line ${String(i).padStart(4, "0")}\n`);
  out.end();
  await done;
  await w.close();
  const files = logFilesOldestFirst(path);
  assert.deepEqual(files, [`${path}.2`, `${path}.1`, path]);
  const contents = files
    .flatMap((f) => readFileSync(f, "utf8").split("\n").filter(Boolean))
    .map((l) => parseCriLogLine(l)!.content);
  // The newest lines survive, in order, with nothing lost inside the kept window.
  assert.equal(contents.at(-1), "line 0199");
  const first = Number(contents[0]!.slice(5));
  assert.deepEqual(
    contents,
    Array.from({ length: 200 - first }, (_, i) => `line ${String(first + i).padStart(4, "0")}`),
  );
  for (const f of files.slice(0, -1))
    assert.ok(readFileSync(f).length <= 1000 + 60, `${f} is about maxBytes`);
});

test("a chatty writer is paused rather than buffered without bound", async (t) => {
  const path = join(tempDir(t), "0.log");
  const w = new CriLogWriter(path, 1 << 30, 2, () => {}, 4096);
  await w.open();
  const out = new PassThrough({ highWaterMark: 64 * 1024 });
  const done = w.attach(out, "stdout");
  let pauses = 0;
  const pause = out.pause.bind(out);
  out.pause = () => {
    pauses++;
    return pause();
  };
  const chunk = `${"y".repeat(1023)}\n`.repeat(64); // 64 KiB of lines
  let written = 0;
  for (let i = 0; i < 64; i++) {
    if (!out.write(chunk)) await new Promise((r) => out.once("drain", r));
    written += chunk.length;
  }
  out.end();
  await done;
  await w.close();
  assert.ok(pauses > 0, "the writer paused its source above the high-water mark");
  const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
  assert.equal(lines.length, written / 1024);
});

// Regression: a flush with nothing queued settled before it was recorded, and close() then
// awaited that settled promise in an endless microtask loop (a container that exited without
// output froze kite up). Such a loop starves timers, so the test checks the writer's state
// before calling close() instead of racing close() against a deadline.
test("close() returns after streams that ended without output", async (t) => {
  const w = new CriLogWriter(join(tempDir(t), "c", "0.log"), 1 << 30, 5);
  await w.open();
  const silent = new PassThrough();
  const attached = w.attach(silent, "stdout");
  silent.end();
  await attached;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(
    (w as unknown as { flushing?: Promise<void> }).flushing,
    undefined,
    "a settled flush is still recorded",
  );
  await w.close();
});
