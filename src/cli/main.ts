#!/usr/bin/env node
import { main, registerCommand } from "./index.js";

// Subcommands load their component only when run, so `kite version` and `kite help` stay instant.
registerCommand({
  name: "up",
  summary: "Start a whole cluster on this machine: control plane, N nodes and DNS (Ctrl-C stops it)",
  run: async (args) => (await import("./commands/up.js")).upCommand.run(args),
});
registerCommand({
  name: "store",
  summary: "Run an etcd-compatible kite store member (etcd v3 gRPC API)",
  run: async (args) => (await import("./commands/store.js")).storeCommand.run(args),
});

registerCommand({
  name: "server",
  summary: "Run the Kubernetes API server (with an embedded kite store unless --etcd-servers is given)",
  run: async (args) => (await import("./commands/server.js")).serverCommand.run(args),
});
registerCommand({
  name: "hollow",
  summary: "Run N hollow (simulated) nodes against a cluster until stopped",
  run: async (args) => (await import("./commands/hollow.js")).hollowCommand.run(args),
});
registerCommand({
  name: "kubeconfig",
  summary: "Print the admin kubeconfig of a kite apiserver",
  run: async (args) => (await import("./commands/kubeconfig.js")).kubeconfigCommand.run(args),
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
