import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CronError, nextAfter, parseSchedule } from "../../src/controllers/cronjob/index.js";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? "none" : new Date(ms).toISOString());

function runs(schedule: string, from: string, n: number, tz?: string): string[] {
  const s = parseSchedule(schedule, tz);
  const out: string[] = [];
  let t: number | undefined = at(from);
  for (let i = 0; i < n && t !== undefined; i++) {
    t = nextAfter(s, t);
    out.push(iso(t));
  }
  return out;
}

describe("cron schedules", () => {
  test("steps, ranges and names", () => {
    assert.deepEqual(runs("*/15 9-10 * * mon-fri", "2024-03-08T10:40:00Z", 3), [
      "2024-03-08T10:45:00.000Z",
      "2024-03-11T09:00:00.000Z",
      "2024-03-11T09:15:00.000Z",
    ]);
    assert.deepEqual(runs("5,10 0 1 jan,jul *", "2024-01-01T00:07:00Z", 2), [
      "2024-01-01T00:10:00.000Z",
      "2024-07-01T00:05:00.000Z",
    ]);
    assert.deepEqual(runs("0 12 * * 5-7", "2024-03-07T13:00:00Z", 3), [
      "2024-03-08T12:00:00.000Z",
      "2024-03-09T12:00:00.000Z",
      "2024-03-10T12:00:00.000Z",
    ]);
    assert.deepEqual(runs("10-30/10 * * * *", "2024-01-01T00:00:00Z", 4), [
      "2024-01-01T00:10:00.000Z",
      "2024-01-01T00:20:00.000Z",
      "2024-01-01T00:30:00.000Z",
      "2024-01-01T01:10:00.000Z",
    ]);
  });

  test("descriptors", () => {
    assert.deepEqual(runs("@hourly", "2024-01-01T00:00:00Z", 2), [
      "2024-01-01T01:00:00.000Z",
      "2024-01-01T02:00:00.000Z",
    ]);
    assert.deepEqual(runs("@daily", "2024-01-01T00:00:00Z", 1), ["2024-01-02T00:00:00.000Z"]);
    assert.deepEqual(runs("@weekly", "2024-01-01T00:00:00Z", 1), ["2024-01-07T00:00:00.000Z"]);
    assert.deepEqual(runs("@monthly", "2024-01-15T00:00:00Z", 1), ["2024-02-01T00:00:00.000Z"]);
    assert.deepEqual(runs("@every 1h30m", "2024-01-15T00:00:00Z", 2), [
      "2024-01-15T01:30:00.000Z",
      "2024-01-15T03:00:00.000Z",
    ]);
    assert.deepEqual(runs("@yearly", "2024-01-15T00:00:00Z", 1), ["2025-01-01T00:00:00.000Z"]);
  });

  test("day of month and day of week: either matches when both are restricted", () => {
    // The 13th, or any Friday.
    assert.deepEqual(runs("0 0 13 * fri", "2024-09-01T00:00:00Z", 3), [
      "2024-09-06T00:00:00.000Z",
      "2024-09-13T00:00:00.000Z",
      "2024-09-20T00:00:00.000Z",
    ]);
    // 29 February only comes in leap years.
    assert.deepEqual(runs("0 0 29 2 *", "2024-03-01T00:00:00Z", 1), ["2028-02-29T00:00:00.000Z"]);
  });

  test("time zones, across a DST change", () => {
    // New York: EST (UTC-5) until 10 March 2024, EDT (UTC-4) after.
    assert.deepEqual(runs("0 9 * * *", "2024-03-09T00:00:00Z", 2, "America/New_York"), [
      "2024-03-09T14:00:00.000Z",
      "2024-03-10T13:00:00.000Z",
    ]);
  });

  test("bad schedules are rejected with a reason", () => {
    for (const bad of [
      "* * * *",
      "61 * * * *",
      "* * * * mon-",
      "5-1 * * * *",
      "*/0 * * * *",
      "@every",
      "@every 5x",
      "@fortnightly",
      "x * * * *",
    ])
      assert.throws(() => parseSchedule(bad), CronError, bad);
    assert.throws(() => parseSchedule("* * * * *", "Mars/Olympus"), CronError);
    assert.equal(nextAfter(parseSchedule("0 0 30 2 *"), at("2024-01-01T00:00:00Z")), undefined);
  });
});
