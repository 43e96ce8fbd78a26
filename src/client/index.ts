// src/client owns the runtime every controller, the scheduler and the kubelet use to talk to the
// apiserver over HTTPS, in the style of client-go: kubeconfig loading and a REST client with
// client-side rate limiting (rest, resource, watch), reflectors and shared informers with indexed
// caches (reflector, informer, cache), the rate-limited de-duplicating work queue with bounded
// workers (workqueue), Lease-based leader election and the aggregating event recorder. It talks
// HTTP only and never imports src/apiserver. Time comes from an injectable Clock.
export * from "./cache.js";
export * from "./clock.js";
export * from "./events.js";
export * from "./informer.js";
export * from "./kubeconfig.js";
export * from "./leaderelection.js";
export * from "./metrics.js";
export * from "./ratelimit.js";
export * from "./reflector.js";
export * from "./resource.js";
export * from "./rest.js";
export * from "./watch.js";
export * from "./workqueue.js";
