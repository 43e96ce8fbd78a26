// Test helpers for the store server: temp data dirs with the kite- prefix, a manual clock,
// and byte helpers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), "kite-store-server-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export const b = (s: string): Buffer => Buffer.from(s);
export const text = (u: Uint8Array | undefined): string | undefined =>
  u === undefined ? undefined : Buffer.from(u).toString();

/** A monotonic clock the test moves by hand (lease expiry). */
export class ManualClock {
  ms = 1_000_000;
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Silences operational logs unless a test wants to look at them. */
export function quietLog(lines: string[] = []): (m: string) => void {
  return (m) => {
    lines.push(m);
  };
}
