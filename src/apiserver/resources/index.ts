// src/apiserver/resources owns what each served resource is: its names and discovery data, its
// defaults and validation (upstream's wording), its strategy hooks (status/spec separation,
// generation), its server-side table columns, and the I/O-free ClusterIP/NodePort allocators.

export * from "./alloc.js";
export { humanDuration } from "./format.js";
export { deepEqual, defineResource, type ResourceSpec, standardVerbs, validateObjectMeta } from "./meta.js";
export { podStatusCells } from "./pods.js";
export { imageTag, podQOSClass } from "./podspec.js";
export { builtinRegistry, ResourceRegistry } from "./registry.js";
export { allocateServiceAddresses, type ServiceAllocation, serviceAddressesInUse } from "./services.js";
