// A long Jepsen campaign against a kite store cluster, from the command line:
//   node dist/test/jepsen/campaign.js --time 300 [--nodes 3|5] [--clients N] [--seed S]
// Prints progress lines and a summary; exits 1 when the history or the watch streams are wrong
// (the history and explanation are then saved under jepsen-failures/).
import { parseArgs } from "node:util";
import { runCampaign } from "./harness.js";

function numberOption(values: Record<string, unknown>, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${raw}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      time: { type: "string" },
      nodes: { type: "string" },
      clients: { type: "string" },
      seed: { type: "string" },
    },
  });
  const nodes = numberOption(values, "nodes", 3);
  if (nodes !== 3 && nodes !== 5) throw new Error(`--nodes must be 3 or 5, got ${nodes}`);
  const seconds = numberOption(values, "time", 60);
  const clients = numberOption(values, "clients", 6);
  if (clients < 1) throw new Error("--clients must be at least 1");
  const seed = numberOption(values, "seed", Date.now() % 1_000_000);
  const result = await runCampaign({
    nodes,
    clients,
    seed,
    durationMs: seconds * 1000,
    checkTimeoutMs: 600_000,
    log: (line) => console.log(line),
  });
  console.log(
    [
      `verdict: ${result.verdict}${result.watchErrors.length > 0 ? " (watch check FAILED)" : ""}`,
      `operations: ${result.operations} (ok ${result.okOperations}, unknown ${result.infoOperations} (${result.unknownChecked} applied per the watch), failed ${result.failedOperations}), ${result.opsPerSecond.toFixed(1)} ok ops/s`,
      `faults: ${JSON.stringify(result.faults)}`,
      `watchers: events ${result.watchEvents.join(", ")}; reconnects ${result.watchReconnects.join(", ")}; final revision ${result.finalRevision}`,
      `checker: ${result.checkerMs.toFixed(0)} ms`,
      result.ok ? "" : `${result.explanation}\n${result.watchErrors.join("\n")}\nsaved to ${result.savedTo}`,
    ].join("\n"),
  );
  return result.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`campaign failed: ${err.message}`);
    process.exit(2);
  },
);
