// Pod specs, shared by pods and every workload's pod template: upstream's v1 defaults
// (SetDefaults_PodSpec, _Container, probes, volumes) and the basic checks of ValidatePodSpec.

import {
  type FieldError,
  fieldErrors,
  isDNS1123Label,
  parseQuantity,
  QuantityError,
} from "../../api/index.js";
import { asArray, child, isObject, type JsonMap, setDefault, validateLabels } from "./meta.js";

/** The tag of an image reference as the kubelet's parsers.ParseImageName reads it ("latest" when none). */
export function imageTag(image: string): string {
  const at = image.indexOf("@");
  const name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) return name.slice(colon + 1);
  return at >= 0 ? "" : "latest";
}

function defaultProbe(probe: unknown): void {
  if (!isObject(probe)) return;
  setDefault(probe, "timeoutSeconds", 1);
  setDefault(probe, "periodSeconds", 10);
  setDefault(probe, "successThreshold", 1);
  setDefault(probe, "failureThreshold", 3);
  if (isObject(probe.httpGet)) setDefault(probe.httpGet, "scheme", "HTTP");
}

function defaultContainer(c: JsonMap, hostNetwork: boolean): void {
  if (c.imagePullPolicy === undefined || c.imagePullPolicy === "") {
    c.imagePullPolicy =
      imageTag(typeof c.image === "string" ? c.image : "") === "latest" ? "Always" : "IfNotPresent";
  }
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  for (const port of asArray(c.ports)) {
    if (!isObject(port)) continue;
    setDefault(port, "protocol", "TCP");
    if (hostNetwork && (port.hostPort === undefined || port.hostPort === 0))
      port.hostPort = port.containerPort;
  }
  for (const env of asArray(c.env)) {
    if (isObject(env) && isObject(env.valueFrom) && isObject(env.valueFrom.fieldRef))
      setDefault(env.valueFrom.fieldRef, "apiVersion", "v1");
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

const modeVolumeSources = ["secret", "configMap", "downwardAPI", "projected"];

/** SetDefaults_PodSpec and the defaults of its containers and volumes. */
export function defaultPodSpec(spec: JsonMap): void {
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "restartPolicy", "Always");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "securityContext", {});
  setDefault(spec, "schedulerName", "default-scheduler");
  const hostNetwork = spec.hostNetwork === true;
  for (const c of [...asArray(spec.initContainers), ...asArray(spec.containers)])
    if (isObject(c)) defaultContainer(c, hostNetwork);
  for (const v of asArray(spec.volumes)) {
    if (!isObject(v)) continue;
    for (const source of modeVolumeSources)
      if (isObject(v[source])) setDefault(v[source], "defaultMode", 420);
    if (isObject(v.hostPath)) setDefault(v.hostPath, "type", "");
  }
}

/** Defaults a pod template (`spec.template` of a workload). */
export function defaultPodTemplate(parent: JsonMap): void {
  const template = child(parent, "template");
  defaultPodSpec(child(template, "spec"));
}

/** SetDefaults_Pod's extras for real pods: requests default to limits; service links on. */
export function defaultPodOnlyFields(spec: JsonMap): void {
  for (const c of [...asArray(spec.initContainers), ...asArray(spec.containers)]) {
    if (!isObject(c) || !isObject(c.resources) || !isObject(c.resources.limits)) continue;
    const requests = child(c.resources, "requests");
    for (const [name, value] of Object.entries(c.resources.limits)) setDefault(requests, name, value);
  }
  setDefault(spec, "enableServiceLinks", true);
}

const restartPolicies = ["Always", "OnFailure", "Never"];
const dnsPolicies = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const pullPolicies = ["Always", "IfNotPresent", "Never"];
const protocols = ["SCTP", "TCP", "UDP"];

function validateResources(resources: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(resources)) return errs;
  const parsed: Record<string, Record<string, ReturnType<typeof parseQuantity>>> = {
    limits: {},
    requests: {},
  };
  for (const kind of ["limits", "requests"] as const) {
    const list = resources[kind];
    if (!isObject(list)) continue;
    for (const [name, value] of Object.entries(list)) {
      try {
        parsed[kind]![name] = parseQuantity(value as string | number);
      } catch (err) {
        if (!(err instanceof QuantityError)) throw err;
        errs.push(fieldErrors.invalid(`${path}.${kind}[${name}]`, value, err.message));
      }
    }
  }
  for (const [name, request] of Object.entries(parsed.requests!)) {
    const limit = parsed.limits![name];
    if (limit !== undefined && request.cmp(limit) > 0)
      errs.push(
        fieldErrors.invalid(
          `${path}.requests`,
          request.toString(),
          `must be less than or equal to ${name} limit of ${limit.toString()}`,
        ),
      );
  }
  return errs;
}

function validateContainers(
  containers: unknown[],
  path: string,
  volumes: Set<string>,
  names: Set<string>,
): FieldError[] {
  const errs: FieldError[] = [];
  containers.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!isObject(c)) {
      errs.push(fieldErrors.invalid(p, c, "must be an object"));
      return;
    }
    if (typeof c.name !== "string" || c.name === "") errs.push(fieldErrors.required(`${p}.name`));
    else {
      const msgs = isDNS1123Label(c.name);
      if (msgs.length > 0) errs.push(fieldErrors.invalidName(`${p}.name`, c.name, msgs));
      if (names.has(c.name)) errs.push(fieldErrors.duplicate(`${p}.name`, c.name));
      names.add(c.name);
    }
    if (typeof c.image !== "string" || c.image === "") errs.push(fieldErrors.required(`${p}.image`));
    else if (c.image.trim() !== c.image)
      errs.push(fieldErrors.invalid(`${p}.image`, c.image, "must not have leading or trailing whitespace"));
    if (c.imagePullPolicy !== undefined && !pullPolicies.includes(c.imagePullPolicy))
      errs.push(fieldErrors.notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, pullPolicies));
    asArray(c.ports).forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (!isObject(port)) return;
      const cp = port.containerPort;
      if (typeof cp !== "number" || !Number.isInteger(cp) || cp < 1 || cp > 65535)
        errs.push(
          fieldErrors.invalid(`${pp}.containerPort`, cp ?? 0, "must be between 1 and 65535, inclusive"),
        );
      if (port.protocol !== undefined && !protocols.includes(port.protocol))
        errs.push(fieldErrors.notSupported(`${pp}.protocol`, port.protocol, protocols));
    });
    asArray(c.volumeMounts).forEach((m, j) => {
      if (isObject(m) && typeof m.name === "string" && !volumes.has(m.name))
        errs.push(fieldErrors.notFound(`${p}.volumeMounts[${j}].name`, m.name));
    });
    errs.push(...validateResources(c.resources, `${p}.resources`));
  });
  return errs;
}

/** The basics of ValidatePodSpec at `path` ("spec" or "spec.template.spec"). */
export function validatePodSpec(spec: unknown, path: string): FieldError[] {
  if (!isObject(spec)) return [fieldErrors.required(path)];
  const errs: FieldError[] = [];
  const volumes = new Set<string>();
  asArray(spec.volumes).forEach((v, i) => {
    if (!isObject(v)) return;
    const p = `${path}.volumes[${i}].name`;
    if (typeof v.name !== "string" || v.name === "") errs.push(fieldErrors.required(p));
    else {
      const msgs = isDNS1123Label(v.name);
      if (msgs.length > 0) errs.push(fieldErrors.invalidName(p, v.name, msgs));
      if (volumes.has(v.name)) errs.push(fieldErrors.duplicate(p, v.name));
      volumes.add(v.name);
    }
  });
  const containers = asArray(spec.containers);
  if (containers.length === 0) errs.push(fieldErrors.required(`${path}.containers`));
  const names = new Set<string>();
  errs.push(...validateContainers(asArray(spec.initContainers), `${path}.initContainers`, volumes, names));
  errs.push(...validateContainers(containers, `${path}.containers`, volumes, names));
  if (spec.restartPolicy !== undefined && !restartPolicies.includes(spec.restartPolicy))
    errs.push(fieldErrors.notSupported(`${path}.restartPolicy`, spec.restartPolicy, restartPolicies));
  if (spec.dnsPolicy !== undefined && !dnsPolicies.includes(spec.dnsPolicy))
    errs.push(fieldErrors.notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, dnsPolicies));
  const grace = spec.terminationGracePeriodSeconds;
  if (grace !== undefined && (typeof grace !== "number" || !Number.isInteger(grace)))
    errs.push(fieldErrors.invalid(`${path}.terminationGracePeriodSeconds`, grace, "must be an integer"));
  const deadline = spec.activeDeadlineSeconds;
  if (
    deadline !== undefined &&
    (typeof deadline !== "number" || !Number.isInteger(deadline) || deadline <= 0)
  )
    errs.push(
      fieldErrors.invalid(
        `${path}.activeDeadlineSeconds`,
        deadline,
        "must be between 1 and 2147483647, inclusive",
      ),
    );
  errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  return errs;
}

/** The pod's QoS class (qos.GetPodQOS, simplified to cpu and memory). */
export function podQOSClass(spec: unknown): "Guaranteed" | "Burstable" | "BestEffort" {
  const containers = isObject(spec) ? [...asArray(spec.initContainers), ...asArray(spec.containers)] : [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const requests = isObject(c?.resources?.requests) ? c.resources.requests : {};
    const limits = isObject(c?.resources?.limits) ? c.resources.limits : {};
    for (const r of ["cpu", "memory"]) {
      if (requests[r] !== undefined || limits[r] !== undefined) any = true;
      if (limits[r] === undefined) {
        guaranteed = false;
        continue;
      }
      const req = requests[r] ?? limits[r];
      try {
        if (parseQuantity(req).cmp(parseQuantity(limits[r])) !== 0) guaranteed = false;
      } catch {
        guaranteed = false;
      }
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}
