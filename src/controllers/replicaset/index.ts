// The ReplicaSet controller (kube-controller-manager's "replicaset"): pod ownership by controller
// ownerReference, slow-start creates, ranked deletes, expectations, status; plus the pod and
// adoption helpers the deployment controller reuses.
export { claimObjects, ownerStillValid } from "./claim.js";
export { REPLICASETS, replicaSetController } from "./controller.js";
export { Expectations } from "./expectations.js";
export * from "./pods.js";
