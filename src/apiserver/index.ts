// src/apiserver owns kite's Kubernetes API server: resource definitions and their registry
// (resources/), the object store over the etcd v3 API with its watch cache (storage/), the REST
// handlers (rest/), and the HTTPS process around them with certificates, authentication,
// discovery, OpenAPI, health, metrics and bootstrap objects (server/). The contracts between
// the parts are in types.ts.
export * from "./resources/index.js";
export * from "./rest/index.js";
export * from "./server/index.js";
export * from "./storage/index.js";
export type * from "./types.js";
