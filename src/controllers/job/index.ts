// The job controller (upstream pkg/controller/job, NonIndexed completion mode): runs a Job's pods
// to `completions` successes with at most `parallelism` at once, fails it past backoffLimit or
// activeDeadlineSeconds, honours suspend, and keeps status.active/ready/succeeded/failed,
// startTime, completionTime and the Complete/Failed/Suspended conditions.
import type { Controller } from "../context.js";
import { type JobControllerOptions, startJobController } from "./controller.js";

export { isFinished, type JobControllerOptions } from "./controller.js";
export { controllerUidLabel, jobNameLabel } from "./pods.js";

export function newJobController(opts: JobControllerOptions = {}): Controller {
  return { name: "job", start: (ctx) => startJobController(ctx, opts) };
}

export const jobController: Controller = newJobController();
