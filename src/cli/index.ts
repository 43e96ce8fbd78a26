// The `kite` command line: parses the subcommand and hands off to the component that
// owns it. It is the top layer; nothing below imports it.
import { readFileSync } from "node:fs";

export interface Command {
  name: string;
  summary: string;
  run(args: string[]): Promise<number>;
}

const commands = new Map<string, Command>();

export function registerCommand(command: Command): void {
  commands.set(command.name, command);
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export function helpText(): string {
  const lines = [
    "kite - a Kubernetes-compatible orchestrator with its own Raft-replicated, etcd-compatible store",
    "",
    "Usage:",
    "  kite <command> [flags]",
    "",
    "Commands:",
  ];
  const all: Array<[string, string]> = [
    ...[...commands.values()].map((c): [string, string] => [c.name, c.summary]),
    ["version", "Print the kite version"],
    ["help", "Show this help"],
  ];
  const width = Math.max(...all.map(([n]) => n.length));
  for (const [name, summary] of all) lines.push(`  ${name.padEnd(width)}  ${summary}`);
  lines.push("", 'Use "kite <command> --help" for more information about a command.');
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(helpText());
    console.log(`\nkite version v${version()}`);
    return 0;
  }
  if (name === "version" || name === "--version") {
    console.log(`kite version v${version()}`);
    return 0;
  }
  const command = commands.get(name);
  if (!command) {
    console.error(`Error: unknown command "${name}" for "kite"\nRun 'kite --help' for usage.`);
    return 1;
  }
  return command.run(rest);
}

/**
 * The start of every subcommand: parse its flags; a flag error prints the message and a usage hint
 * (exit 1), --help prints the usage (exit 0). Returns the flags, or the exit code to return.
 */
export function parseCommandFlags<T extends { help: boolean }>(
  command: string,
  args: string[],
  parse: (args: string[]) => T,
  isFlagError: (err: unknown) => boolean,
  usage: string,
): T | number {
  let flags: T;
  try {
    flags = parse(args);
  } catch (err) {
    if (!isFlagError(err)) throw err;
    console.error(`Error: ${(err as Error).message}\nRun 'kite ${command} --help' for usage.`);
    return 1;
  }
  if (flags.help) {
    console.log(usage);
    return 0;
  }
  return flags;
}
