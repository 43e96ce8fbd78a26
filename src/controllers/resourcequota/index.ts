// The resourcequota controller (upstream resource_quota_controller + its evaluators): writes each
// ResourceQuota's status.hard and status.used from the namespace's objects. checkQuota is the pure
// admission check the apiserver can call before a write; podUsage/objectUsage give a request's
// usage for it.
import type { Controller } from "../context.js";
import { startResourceQuotaController } from "./controller.js";

export { checkQuota, type QuotaStatus } from "./check.js";
export { kindForResourceName } from "./kinds.js";
export { countKey, objectUsage, podUsage, type ResourceKind, type Usage } from "./usage.js";

export const resourceQuotaController: Controller = {
  name: "resourcequota",
  start: (ctx) => startResourceQuotaController(ctx),
};
