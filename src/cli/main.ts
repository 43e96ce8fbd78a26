#!/usr/bin/env node
import { main, registerCommand } from "./index.js";

// Subcommands load their component only when run, so `kite version` and `kite help` stay instant.
registerCommand({
  name: "store",
  summary: "Run an etcd-compatible kite store member (etcd v3 gRPC API)",
  run: async (args) => (await import("./commands/store.js")).storeCommand.run(args),
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`Error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
