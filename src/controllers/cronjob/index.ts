// The cronjob controller (upstream cronjob_controllerv2): creates a Job per schedule time of a
// CronJob (5-field cron or @descriptor, optional timeZone) named <cronjob>-<minutes since epoch>,
// with concurrencyPolicy Allow/Forbid/Replace, startingDeadlineSeconds, suspend, history limits
// and status.active/lastScheduleTime/lastSuccessfulTime. cron.ts is the schedule parser.
import type { Controller } from "../context.js";
import { type CronJobControllerOptions, startCronJobController } from "./controller.js";

export type { CronJobControllerOptions } from "./controller.js";
export { CronError, nextAfter, parseSchedule, type Schedule } from "./cron.js";
export { jobName, scheduledTimestampAnnotation } from "./jobs.js";

export function newCronJobController(opts: CronJobControllerOptions = {}): Controller {
  return { name: "cronjob", start: (ctx) => startCronJobController(ctx, opts) };
}

export const cronJobController: Controller = newCronJobController();
