// src/runtime owns the container runtimes the kubelet drives through the Runtime contract
// (types.ts): the `process` runtime (pods as directories + an IP from the node's pod CIDR,
// containers as host process groups), its host-local IPAM, and the CRI log format the kubelet
// reads. It imports nothing above src/api: it knows neither the apiserver nor the client.
import { ProcessRuntime, type ProcessRuntimeOptions } from "./process/runtime.js";
import type { Runtime } from "./types.js";

export { type CriLogLine, logFilesOldestFirst, parseCriLogLine } from "./logfile.js";
export type { ProcessRuntimeOptions } from "./process/runtime.js";
export * from "./types.js";

/** Recovers the state under stateDir (sandboxes, IPs, containers) and kills leftover process groups it started. */
export function createProcessRuntime(opts: ProcessRuntimeOptions): Promise<Runtime> {
  return ProcessRuntime.create(opts);
}
