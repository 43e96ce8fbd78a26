// `kite kubeconfig --data-dir DIR`: prints the admin kubeconfig `kite server` wrote there.
import { readKubeconfig } from "../../apiserver/index.js";
import type { Command } from "../index.js";

const USAGE = `Print the admin kubeconfig of a kite apiserver

Usage:
  kite kubeconfig --data-dir DIR

Flags:
      --data-dir string   The data directory given to 'kite server' (required)
  -h, --help              Help for kubeconfig`;

async function run(args: string[]): Promise<number> {
  let dataDir = "";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      return 0;
    }
    if (arg === "--data-dir" && args[i + 1] !== undefined) dataDir = args[++i] ?? "";
    else if (arg.startsWith("--data-dir=")) dataDir = arg.slice("--data-dir=".length);
    else {
      console.error(`Error: unknown flag: ${arg}\nRun 'kite kubeconfig --help' for usage.`);
      return 1;
    }
  }
  if (dataDir === "") {
    console.error("Error: --data-dir is required\nRun 'kite kubeconfig --help' for usage.");
    return 1;
  }
  const text = await readKubeconfig(dataDir);
  if (text === undefined) {
    console.error(`Error: no kubeconfig in ${dataDir}; start 'kite server --data-dir ${dataDir}' first`);
    return 1;
  }
  process.stdout.write(text);
  return 0;
}

export const kubeconfigCommand: Command = {
  name: "kubeconfig",
  summary: "Print the admin kubeconfig of a kite apiserver",
  run,
};
