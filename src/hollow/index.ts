// src/hollow owns hollow nodes, kite's KWOK: simulated nodes that register Node objects, renew
// node Leases, report status, and run the pods bound to them without any runtime (Running at once,
// Succeeded after a set time when not restartPolicy Always). The tests and benchmarks drive the
// control plane at scale with them; `kite hollow` runs them as a process. Talks HTTP via src/client.
export * from "./hollow.js";
export * from "./node.js";
export * from "./pods.js";
