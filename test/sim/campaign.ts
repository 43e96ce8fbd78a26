// The long-running simulation campaign: `npm run sim -- [--seeds N] [--start S] [--seed S]
// [--nodes 3|5|7] [--steps K] [--verbose]`. Runs seeds start..start+N-1 (or replays one),
// stops at the first failure, prints its replay command and saves the full message-level
// trace of the failing seed to sim-failures/<seed>.txt.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_STEPS, replayCommand, runSimulation, SimFailure, type SimOptions } from "./chaos.js";

interface Args {
  seeds: number;
  start: number;
  seed?: number;
  nodes?: number;
  steps?: number;
  verbose: boolean;
}

const USAGE =
  "usage: npm run sim -- [--seeds N] [--start S] [--seed S] [--nodes 3|5|7] [--steps K] [--verbose]";

function parseArgs(argv: string[]): Args {
  const args: Args = { seeds: 1000, start: 1, verbose: false };
  const intArg = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isSafeInteger(n) || n < min) {
      throw new Error(`${flag} needs an integer >= ${min}, got ${value ?? "nothing"}\n${USAGE}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case "--seeds":
        args.seeds = intArg(flag, argv[++i], 1);
        break;
      case "--start":
        args.start = intArg(flag, argv[++i], 0);
        break;
      case "--seed":
        args.seed = intArg(flag, argv[++i], 0);
        break;
      case "--nodes":
        args.nodes = intArg(flag, argv[++i], 3);
        if (![3, 5, 7].includes(args.nodes)) throw new Error(`--nodes must be 3, 5 or 7\n${USAGE}`);
        break;
      case "--steps":
        args.steps = intArg(flag, argv[++i], 1);
        break;
      case "--verbose":
        args.verbose = true;
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  return args;
}

function saveTrace(failure: SimFailure): string {
  // Replay with message-level tracing: the run is a pure function of its options, so the
  // replay fails the same way and its trace shows every delivery.
  let trace = failure.trace;
  try {
    runSimulation({ ...failure.options, traceMessages: true, verbose: false });
  } catch (err) {
    if (err instanceof SimFailure) trace = err.trace;
  }
  const dir = "sim-failures";
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${failure.options.seed}.txt`);
  writeFileSync(file, `${failure.message}\n\n${trace.join("\n")}\n`);
  return file;
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  const base = { nodes: args.nodes, steps: args.steps };
  const seeds =
    args.seed !== undefined ? [args.seed] : Array.from({ length: args.seeds }, (_, i) => args.start + i);
  console.log(
    `simulating ${seeds.length} seed(s) from ${seeds[0]}, nodes ${args.nodes ?? "3/5/7 by seed"}, ${args.steps ?? DEFAULT_STEPS} chaos ticks each`,
  );
  const began = performance.now();
  const progressEvery = Math.max(1, Math.round(seeds.length / 20));
  let ticks = 0;
  let committed = 0;
  let maxLiveness = 0;
  let slowestSeed = 0;
  for (let i = 0; i < seeds.length; i++) {
    const opts: SimOptions = { seed: seeds[i]!, ...base, verbose: args.verbose, traceMessages: args.verbose };
    try {
      const result = runSimulation(opts);
      ticks += result.ticks;
      committed += result.proposalsCommitted;
      if (result.livenessTicks > maxLiveness) {
        maxLiveness = result.livenessTicks;
        slowestSeed = result.seed;
      }
      if (seeds.length === 1) console.log(JSON.stringify({ ...result, trace: undefined }));
    } catch (err) {
      if (!(err instanceof SimFailure)) throw err;
      console.error(`\nFAILED: ${err.message}`);
      console.error(`trace saved to ${saveTrace(err)}`);
      console.error(`replay with: ${replayCommand({ seed: opts.seed, ...base })}`);
      return 1;
    }
    if ((i + 1) % progressEvery === 0 && seeds.length > 1) {
      const secs = (performance.now() - began) / 1000;
      console.log(
        `${i + 1}/${seeds.length} seeds ok (${Math.round((100 * (i + 1)) / seeds.length)}%), ${((i + 1) / secs).toFixed(1)} seeds/s`,
      );
    }
  }
  const secs = (performance.now() - began) / 1000;
  console.log(
    `all ${seeds.length} seed(s) passed in ${secs.toFixed(1)} s (${(seeds.length / secs).toFixed(1)} seeds/s): ${ticks} ticks, ${committed} proposals committed, slowest recovery ${maxLiveness} ticks (seed ${slowestSeed})`,
  );
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
}
