// The endpoints and endpointslice controllers: Endpoints and discovery.k8s.io/v1 EndpointSlices
// for every Service with a selector, following the readiness of the pods it selects.
export { desiredSubsets, endpointsController } from "./endpoints.js";
export {
  CONTROLLER_NAME,
  desiredSlices,
  endpointSliceController,
  MANAGED_BY_LABEL,
  MAX_ENDPOINTS_PER_SLICE,
  SERVICE_NAME_LABEL,
} from "./endpointslice.js";
