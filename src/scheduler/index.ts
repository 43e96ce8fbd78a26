// src/scheduler owns kite's pod scheduler. This layer is its I/O-free core: a cluster snapshot (NodeInfo),
// upstream's default filter and score plugins, the one-pod scheduling decision with upstream's FitError
// text, and the priority/back-off scheduling queue. The running scheduler (runner, server, metrics:
// informers, binding, events, leader election) sits on top of it and imports only src/api and src/client.

export * from "./cycle.js";
export * from "./filters.js";
export * from "./interpodaffinity.js";
export * from "./matching.js";
export * from "./metrics.js";
export * from "./nodeinfo.js";
export * from "./queue.js";
export * from "./reasons.js";
export * from "./resources.js";
export * from "./runner.js";
export * from "./schedule.js";
export * from "./scores.js";
export * from "./server.js";
