// /healthz, /livez and /readyz with upstream's plain-text formats (k8s.io/apiserver
// pkg/server/healthz): "ok" when all checks pass; with ?verbose (or on failure) one line per
// check, "[+]name ok" / "[-]name failed: reason withheld", then "<endpoint> check passed|failed";
// ?exclude=name skips a check; /<endpoint>/<check> runs one check alone.
import type { ServerResponse } from "node:http";

export interface HealthCheck {
  name: string;
  /** Throws (or rejects) when unhealthy. */
  check(): Promise<void> | void;
}

export type HealthEndpoint = "healthz" | "livez" | "readyz";

function sendText(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

async function run(check: HealthCheck): Promise<Error | undefined> {
  try {
    await check.check();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Serves `/<endpoint>` or `/<endpoint>/<check>`; returns false for paths it does not own. */
export async function serveHealth(
  endpoint: HealthEndpoint,
  checks: readonly HealthCheck[],
  path: string,
  query: URLSearchParams,
  res: ServerResponse,
): Promise<boolean> {
  const base = `/${endpoint}`;
  if (path !== base && !path.startsWith(`${base}/`)) return false;
  if (path.startsWith(`${base}/`)) {
    const name = path.slice(base.length + 1);
    const check = checks.find((c) => c.name === name);
    if (!check) {
      sendText(res, 404, "404 page not found\n");
      return true;
    }
    const err = await run(check);
    if (err) sendText(res, 500, `internal server error: ${err.message}\n`);
    else sendText(res, 200, "ok");
    return true;
  }
  const excluded = new Set(query.getAll("exclude"));
  const lines: string[] = [];
  let failed = false;
  for (const check of checks) {
    if (excluded.has(check.name)) {
      lines.push(`[+]${check.name} excluded: ok`);
      excluded.delete(check.name);
      continue;
    }
    const err = await run(check);
    if (err) failed = true;
    lines.push(err ? `[-]${check.name} failed: reason withheld` : `[+]${check.name} ok`);
  }
  for (const name of excluded)
    lines.push(`warn: some health checks cannot be excluded: no matches for "${name}"`);
  if (failed) {
    sendText(res, 500, `${lines.join("\n")}\n${endpoint} check failed\n`);
  } else if (query.has("verbose")) {
    sendText(res, 200, `${lines.join("\n")}\n${endpoint} check passed\n`);
  } else {
    sendText(res, 200, "ok");
  }
  return true;
}
