// src/apiserver/rest owns the Kubernetes REST handlers: routing of /api and /apis resource paths,
// get/list/watch (with Tables and streaming lists), create/update/patch (JSON, merge, strategic
// merge, server-side apply), delete with upstream's graceful/finalizer/propagation semantics,
// the status/scale/finalize subresources, pod binding/eviction/log and service address allocation.
export type { RequestRecord, RestOptions, RestRegistry } from "./context.js";
export { createRestHandler, type RestHandler } from "./handler.js";
