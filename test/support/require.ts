// Tests that need root or a Linux feature skip with a printed reason where it is missing.
// Under KITE_REQUIRE_ALL=1 (CI) a missing requirement is a failure instead of a skip.
import type { TestContext } from "node:test";

export function requireAll(): boolean {
  return process.env.KITE_REQUIRE_ALL === "1";
}

/** Returns true when the test should go on; otherwise skips it (or fails it in CI). */
export function need(t: TestContext, available: boolean, reason: string): boolean {
  if (available) return true;
  if (requireAll()) throw new Error(`KITE_REQUIRE_ALL=1 but this test cannot run: ${reason}`);
  console.log(`# skipping: ${reason}`);
  t.skip(reason);
  return false;
}

/** Waits until check() is true, polling, or throws after deadlineMs. No fixed sleeps in tests. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  deadlineMs = 10_000,
  what = "condition",
): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
