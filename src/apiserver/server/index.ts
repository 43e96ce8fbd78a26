// The apiserver process around the REST handlers: certificates, authentication, discovery,
// OpenAPI, /version, health, metrics, bootstrap objects and the admin kubeconfig.
export {
  AlwaysAllowAuthorizer,
  ANONYMOUS,
  parseTokenFile,
  RequestAuthenticator,
  TokenFileError,
} from "./auth.js";
export { bootstrapCluster, firstServiceIp, SYSTEM_NAMESPACES } from "./bootstrap.js";
export { ADMIN_GROUP, ADMIN_USER, type ClusterTls, ensureClusterTls, type KeyPairPem } from "./certs.js";
export { Discovery } from "./discovery.js";
export { kubeconfigPath, readKubeconfig, renderKubeconfig } from "./kubeconfig.js";
export { ApiServerMetrics, REQUEST_DURATION_BUCKETS } from "./metrics.js";
export { OpenApi } from "./openapi.js";
export { type ApiRegistry, type ApiServer, type ApiServerOptions, startApiServer } from "./server.js";
export { versionInfo } from "./version.js";
