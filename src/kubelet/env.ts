// A container's environment as the kubelet builds it (kubelet_pods.go makeEnvironmentVariables):
// envFrom first, then env in order with $(VAR) expansion, valueFrom sources resolved, and the
// service link variables (pkg/kubelet/envvars) for the pod's namespace plus default/kubernetes.
// Errors carry upstream's messages because they surface as CreateContainerConfigError.
import { cpus, totalmem } from "node:os";
import { parseQuantity, type Quantity } from "../api/quantity.js";
import type { KubeObject } from "../api/types.js";
import { list, type Obj, record, str } from "./fields.js";
import { containerResources } from "./qos.js";

export interface EnvSources {
  getConfigMap(namespace: string, name: string): Promise<KubeObject | undefined>;
  getSecret(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Services of a namespace; containerEnv asks for the pod's namespace and for "default". */
  services(namespace: string): KubeObject[];
  nodeName: string;
  nodeIP: string;
  podIP: string;
  /** All pod IPs (status.podIPs); defaults to [podIP]. */
  podIPs?: string[];
  /** Node allocatable, the default for unset limits in resourceFieldRef; defaults to this machine's. */
  allocatable?: { cpu?: string; memory?: string };
}

export class EnvError extends Error {
  override name = "EnvError";
}

// ---- $(VAR) expansion (third_party/forked/golang/expansion) ----

/** MappingFuncFor: the first context holding the name wins; unresolved references stay literal. */
export function mappingFuncFor(...contexts: Array<Record<string, string>>): (name: string) => string {
  return (name) => {
    for (const vars of contexts) if (Object.hasOwn(vars, name)) return vars[name]!;
    return `$(${name})`;
  };
}

/** Expand: $(NAME) is replaced through mapping, $$ is an escaped $, anything else is kept. */
export function expand(input: string, mapping: (name: string) => string): string {
  let out = "";
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== "$" || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    let advance = 1;
    if (rest[0] === "$") out += "$";
    else if (rest[0] === "(") {
      const close = rest.indexOf(")", 1);
      if (close >= 0) {
        out += mapping(rest.slice(1, close));
        advance = close + 1;
      } else out += "$(";
    } else out += "$" + rest[0];
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** ExpandContainerCommandAndArgs: $(VAR) in command and args from the container's environment. */
export function expandCommandAndArgs(
  container: Obj,
  env: Record<string, string>,
): { command: string[]; args: string[] } {
  const mapping = mappingFuncFor(env);
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s) => typeof s === "string") : []);
  return {
    command: strings(container.command).map((s) => expand(s, mapping)),
    args: strings(container.args).map((s) => expand(s, mapping)),
  };
}

// ---- service link variables (pkg/kubelet/envvars) ----

function envName(s: string): string {
  return s.replaceAll("-", "_").toUpperCase();
}

function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** envvars.FromServices for services that have a cluster IP. */
export function serviceEnvVars(services: KubeObject[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const svc of services) {
    const spec = record(svc.spec);
    const ip = str(spec.clusterIP);
    const ports = list(spec.ports);
    if (ip === "" || ip === "None" || ports.length === 0) continue;
    const prefix = envName(str(svc.metadata?.name));
    out.push([`${prefix}_SERVICE_HOST`, ip]);
    out.push([`${prefix}_SERVICE_PORT`, String(ports[0]!.port)]);
    for (const p of ports) {
      if (str(p.name) !== "") out.push([`${prefix}_SERVICE_PORT_${envName(str(p.name))}`, String(p.port)]);
    }
    ports.forEach((p, i) => {
      const protocol = str(p.protocol) || "TCP";
      const url = `${protocol.toLowerCase()}://${hostPort(ip, Number(p.port))}`;
      if (i === 0) out.push([`${prefix}_PORT`, url]);
      const portPrefix = `${prefix}_PORT_${p.port}_${protocol.toUpperCase()}`;
      out.push([portPrefix, url]);
      out.push([`${portPrefix}_PROTO`, protocol.toLowerCase()]);
      out.push([`${portPrefix}_PORT`, String(p.port)]);
      out.push([`${portPrefix}_ADDR`, ip]);
    });
  }
  return out;
}

/** getServiceEnvVarMap: default/kubernetes always; the pod namespace's services when links are on. */
function serviceEnvMap(namespace: string, enableServiceLinks: boolean, src: EnvSources): Map<string, string> {
  const chosen = new Map<string, KubeObject>();
  const consider = (svc: KubeObject, askedNs: string) => {
    const ns = svc.metadata?.namespace ?? askedNs;
    const name = str(svc.metadata?.name);
    if (ns === "default" && name === "kubernetes") {
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (ns === namespace && enableServiceLinks) chosen.set(name, svc);
  };
  for (const svc of src.services("default")) consider(svc, "default");
  if (namespace !== "default") for (const svc of src.services(namespace)) consider(svc, namespace);
  return new Map(serviceEnvVars([...chosen.values()]));
}

// ---- valueFrom sources ----

/** utilvalidation.IsEnvVarName. */
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Go's %q for the strings downward API files hold. */
export function goQuote(s: string): string {
  const named: Record<string, string> = {
    "\x07": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
  };
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (named[ch]) out += named[ch];
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

/** fieldpath.FormatMap: sorted key="value" lines. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(m![k]!)}`)
    .join("\n");
}

/** fieldpath.ExtractFieldPathAsString: the metadata fields a downward API volume may read. */
export function podMetadataField(pod: KubeObject, fieldPath: string): string {
  const sub = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/.exec(fieldPath);
  if (sub) {
    const map = sub[1] === "metadata.labels" ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[sub[2]!] ?? "";
  }
  switch (fieldPath) {
    case "metadata.annotations":
      return formatMap(pod.metadata?.annotations);
    case "metadata.labels":
      return formatMap(pod.metadata?.labels);
    case "metadata.name":
      return pod.metadata?.name ?? "";
    case "metadata.namespace":
      return pod.metadata?.namespace ?? "";
    case "metadata.uid":
      return pod.metadata?.uid ?? "";
  }
  throw new EnvError(`unsupported fieldPath: ${fieldPath}`);
}

/** podFieldSelectorRuntimeValue. */
function fieldRefValue(pod: KubeObject, fieldPath: string, src: EnvSources): string {
  const spec = record(pod.spec);
  switch (fieldPath) {
    case "spec.nodeName":
      return str(spec.nodeName) || src.nodeName;
    case "spec.serviceAccountName":
      return str(spec.serviceAccountName);
    case "status.hostIP":
    case "status.hostIPs":
      return src.nodeIP;
    case "status.podIP":
      return src.podIP;
    case "status.podIPs":
      return (src.podIPs ?? [src.podIP]).join(",");
  }
  return podMetadataField(pod, fieldPath);
}

function ceilDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new EnvError("divisor must not be zero");
  const q = a / b;
  return q * b === a || a < 0n !== b < 0n ? q : q + 1n;
}

/** ExtractContainerResourceValue, with unset limits defaulted to node allocatable (defaultPodLimitsForDownwardAPI). */
export function resourceFieldValue(
  pod: KubeObject,
  container: Obj,
  ref: Obj,
  allocatable?: { cpu?: string; memory?: string },
): string {
  let target = container;
  const containerName = str(ref.containerName);
  if (containerName !== "") {
    const all = [...list(record(pod.spec).containers), ...list(record(pod.spec).initContainers)];
    const found = all.find((c) => c.name === containerName);
    if (!found) throw new EnvError(`container ${containerName} not found`);
    target = found;
  }
  let divisor: Quantity;
  try {
    divisor = ref.divisor === undefined ? parseQuantity(1) : parseQuantity(ref.divisor as string);
  } catch (err) {
    throw new EnvError(`invalid divisor ${String(ref.divisor)}: ${(err as Error).message}`);
  }
  if (divisor.isZero()) divisor = parseQuantity(1);
  const { requests, limits } = containerResources(target);
  const node = {
    cpu: parseQuantity(allocatable?.cpu ?? String(cpus().length)),
    memory: parseQuantity(allocatable?.memory ?? String(totalmem())),
  };
  const resource = str(ref.resource);
  switch (resource) {
    case "limits.cpu":
      return String(ceilDiv((limits.cpu ?? node.cpu).milliValue(), divisor.milliValue()));
    case "requests.cpu":
      return String(ceilDiv(requests.cpu?.milliValue() ?? 0n, divisor.milliValue()));
    case "limits.memory":
      return String(ceilDiv((limits.memory ?? node.memory).value(), divisor.value()));
    case "requests.memory":
      return String(ceilDiv(requests.memory?.value() ?? 0n, divisor.value()));
    case "limits.ephemeral-storage":
    case "requests.ephemeral-storage": {
      const q = (resource.startsWith("limits") ? limits : requests)["ephemeral-storage"];
      return String(ceilDiv(q?.value() ?? 0n, divisor.value()));
    }
  }
  throw new EnvError(`unsupported container resource : ${resource}`);
}

/** Decoded string values of a configMap's data or a secret's (base64) data. */
function configMapData(cm: KubeObject): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(record(cm.data))) if (typeof v === "string") out[k] = v;
  return out;
}

export function secretData(secret: KubeObject): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(record(secret.data))) {
    if (typeof v === "string") out[k] = Buffer.from(v, "base64").toString("utf8");
  }
  return out;
}

type Kind = "ConfigMap" | "Secret";

/** Fetches and caches configMaps/secrets by name; undefined when missing and optional. */
function makeLoader(namespace: string, src: EnvSources) {
  const cache = new Map<string, Record<string, string>>();
  return async (kind: Kind, name: string, optional: boolean): Promise<Record<string, string> | undefined> => {
    const key = `${kind}/${name}`;
    const cached = cache.get(key);
    if (cached) return cached;
    const obj =
      kind === "ConfigMap" ? await src.getConfigMap(namespace, name) : await src.getSecret(namespace, name);
    if (!obj) {
      if (optional) return undefined;
      throw new EnvError(`${kind.toLowerCase()} "${name}" not found`);
    }
    const data = kind === "ConfigMap" ? configMapData(obj) : secretData(obj);
    cache.set(key, data);
    return data;
  };
}

/** Skipped envFrom keys (invalid names), for the InvalidEnvironmentVariableNames event. */
export interface EnvWarning {
  kind: Kind;
  name: string;
  keys: string[];
  /** Upstream's event message. */
  message: string;
}

/** The container's environment: envFrom, then env (expanded, sources resolved), then service links. */
export async function containerEnv(
  pod: KubeObject,
  container: Obj,
  src: EnvSources,
  warnings?: EnvWarning[],
): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? "default";
  const serviceEnv = serviceEnvMap(namespace, record(pod.spec).enableServiceLinks !== false, src);
  const load = makeLoader(namespace, src);
  // No prototype: a key named "__proto__" is just another variable.
  const tmpEnv: Record<string, string> = Object.create(null);

  for (const from of list(container.envFrom)) {
    const ref = from.configMapRef
      ? record(from.configMapRef)
      : from.secretRef
        ? record(from.secretRef)
        : undefined;
    if (!ref) continue;
    const kind: Kind = from.configMapRef ? "ConfigMap" : "Secret";
    const name = str(ref.name);
    const data = await load(kind, name, ref.optional === true);
    if (!data) continue;
    const invalid: string[] = [];
    for (const [k, v] of Object.entries(data)) {
      const key = str(from.prefix) + k;
      if (!ENV_VAR_NAME.test(key)) invalid.push(key);
      else tmpEnv[key] = v;
    }
    if (invalid.length > 0 && warnings) {
      invalid.sort();
      warnings.push({
        kind,
        name,
        keys: invalid,
        message: `Keys [${invalid.join(", ")}] from the EnvFrom ${kind === "ConfigMap" ? "configMap" : "secret"} ${namespace}/${name} were skipped since they are considered invalid environment variable names.`,
      });
    }
  }

  const mapping = mappingFuncFor(tmpEnv, Object.fromEntries(serviceEnv));
  for (const env of list(container.env)) {
    const name = str(env.name);
    let value = str(env.value);
    if (value !== "") value = expand(value, mapping);
    else if (env.valueFrom !== undefined) {
      const from = record(env.valueFrom);
      if (from.fieldRef) value = fieldRefValue(pod, str(record(from.fieldRef).fieldPath), src);
      else if (from.resourceFieldRef)
        value = resourceFieldValue(pod, container, record(from.resourceFieldRef), src.allocatable);
      else if (from.configMapKeyRef || from.secretKeyRef) {
        const kind: Kind = from.configMapKeyRef ? "ConfigMap" : "Secret";
        const ref = record(from.configMapKeyRef ?? from.secretKeyRef);
        const optional = ref.optional === true;
        const data = await load(kind, str(ref.name), optional);
        if (!data) continue;
        const key = str(ref.key);
        if (!Object.hasOwn(data, key)) {
          if (optional) continue;
          throw new EnvError(`couldn't find key ${key} in ${kind} ${namespace}/${str(ref.name)}`);
        }
        value = data[key]!;
      }
    }
    serviceEnv.delete(name);
    tmpEnv[name] = value;
  }

  const result: Record<string, string> = { ...tmpEnv };
  for (const [k, v] of serviceEnv) if (!Object.hasOwn(tmpEnv, k)) result[k] = v;
  return result;
}
