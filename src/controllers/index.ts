// src/controllers owns kite's controller-manager: the reconcile loops that turn desired state into
// actual state (deployment, replicaset, garbage collector, namespace, serviceaccount, endpoints and
// endpointslices, job, cronjob, node lifecycle with node IPAM and taint eviction, resourcequota),
// each a small function over the shared informer cache from src/client, run under one leader
// election by the manager. It talks to the apiserver only through src/client.
export * from "./all.js";
export * from "./context.js";
export * from "./manager.js";
