// Checks shared by the workload kinds (deployments, replicasets, daemonsets, statefulsets, jobs):
// a selector that matches its pod template, as ValidatePodTemplateSpecForReplicaSet words it.

import { type FieldError, fieldErrors } from "../../api/index.js";
import { toSelector } from "./format.js";
import { isObject, validateAnnotations, validateLabels } from "./meta.js";
import { validatePodSpec } from "./podspec.js";

/** spec.selector is present, non-empty and well formed; returns the errors. */
export function validateSelector(sel: unknown, path: string, kindWord: string): FieldError[] {
  if (sel === undefined || sel === null) return [fieldErrors.required(path)];
  if (!isObject(sel)) return [fieldErrors.invalid(path, sel, "invalid label selector")];
  const errs: FieldError[] = [];
  const n =
    Object.keys(isObject(sel.matchLabels) ? sel.matchLabels : {}).length +
    (Array.isArray(sel.matchExpressions) ? sel.matchExpressions.length : 0);
  errs.push(...validateLabels(sel.matchLabels, `${path}.matchLabels`));
  if (n === 0) errs.push(fieldErrors.invalid(path, sel, `empty selector is invalid for ${kindWord}`));
  if (toSelector(sel) === undefined) errs.push(fieldErrors.invalid(path, sel, "invalid label selector"));
  return errs;
}

/** The pod template: labels matched by the selector, a valid pod spec, and an allowed restart policy. */
export function validateTemplate(
  template: unknown,
  selector: unknown,
  path: string,
  restartPolicies: readonly string[] | "job",
): FieldError[] {
  if (!isObject(template)) return [fieldErrors.required(path)];
  const errs: FieldError[] = [];
  const rawLabels = isObject(template.metadata?.labels) ? template.metadata.labels : {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawLabels)) if (typeof v === "string") labels[k] = v;
  errs.push(...validateLabels(template.metadata?.labels, `${path}.metadata.labels`));
  errs.push(...validateAnnotations(template.metadata?.annotations, `${path}.metadata.annotations`));
  const sel = isObject(selector) ? toSelector(selector) : undefined;
  if (sel !== undefined && !sel.isEmpty() && !sel.matches(labels))
    errs.push(
      fieldErrors.invalid(`${path}.metadata.labels`, labels, "`selector` does not match template `labels`"),
    );
  errs.push(...validatePodSpec(template.spec, `${path}.spec`));
  const policy = template.spec?.restartPolicy;
  if (restartPolicies === "job") {
    // Defaulting turns an unset policy into Always, so both read as "not given".
    if (policy === "Always" || policy === undefined || policy === "")
      errs.push(fieldErrors.required(`${path}.spec.restartPolicy`, 'valid values: "OnFailure", "Never"'));
    else if (policy !== "OnFailure" && policy !== "Never")
      errs.push(fieldErrors.notSupported(`${path}.spec.restartPolicy`, policy, ["OnFailure", "Never"]));
  } else if (!restartPolicies.includes(policy)) {
    errs.push(fieldErrors.notSupported(`${path}.spec.restartPolicy`, policy ?? "", restartPolicies));
  }
  return errs;
}

/** A non-negative integer field (ValidateNonnegativeField). */
export function nonNegative(value: unknown, path: string): FieldError[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== "number" || !Number.isInteger(value))
    return [fieldErrors.invalid(path, value, "must be an integer")];
  return value < 0 ? [fieldErrors.invalid(path, value, "must be greater than or equal to 0")] : [];
}
