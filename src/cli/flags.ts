// The one walk over kubectl-style arguments that `kite server`, `kite hollow` and `kite up` parse:
// "--name value" and "--name=value". Each command keeps its own switch over the names; flags
// that take no value are matched on `arg` (the whole argument), so "--flag=x" never passes as one.

export interface Flag {
  /** The flag's name, without any "=value". */
  name: string;
  /** The whole argument as given. */
  arg: string;
  /** The value after "=", else the next argument; a missing one throws `flag needs an argument`. */
  value(): string;
}

export function* walkFlags(args: readonly string[], fail: (message: string) => Error): Generator<Flag> {
  let i = 0;
  while (i < args.length) {
    const arg = args[i++] ?? "";
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    yield {
      name,
      arg,
      value: () => {
        if (eq > 0) return arg.slice(eq + 1);
        const next = args[i];
        if (next === undefined || next.startsWith("--")) throw fail(`flag needs an argument: ${name}`);
        i++;
        return next;
      },
    };
  }
}
