// The Deployment controller (kube-controller-manager's "deployment"): ReplicaSets named
// <deployment>-<pod-template-hash> with revision annotations, RollingUpdate (maxSurge /
// maxUnavailable) and Recreate rollouts, rollback by template, pause/resume, proportional
// scaling, revision history cleanup, and the Progressing/Available conditions and replica counts
// `kubectl rollout status` reads.
export { DEPLOYMENTS, deploymentController } from "./controller.js";
export * from "./progress.js";
export { computeHash, equalIgnoreHash, maxSurge, maxUnavailable, resolveFenceposts } from "./util.js";
