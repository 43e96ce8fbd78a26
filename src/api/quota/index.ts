// ResourceQuota evaluation shared by the apiserver's quota admission and the resourcequota
// controller (upstream's pkg/quota/v1 evaluators): what an object counts against a quota, which
// kind a hard-limit name counts, the pod constraints a quota on cpu/memory imposes, and the check
// with upstream's messages.
export * from "./check.js";
export * from "./constraints.js";
export * from "./kinds.js";
export * from "./usage.js";
