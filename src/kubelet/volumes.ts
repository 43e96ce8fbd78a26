// Pod volumes materialized on the node: configMap, secret, downwardAPI and projected volumes are
// written the way upstream's AtomicWriter writes them (a timestamped directory, a "..data" symlink
// swapped by rename, and top-level symlinks through ..data) so a reader never sees half an update;
// emptyDir is a plain directory, hostPath is the host path itself. Other kinds fail with a clear
// message (the FailedMount event text upstream shows).
import { existsSync, mkdirSync } from "node:fs";
import * as fs from "node:fs/promises";
import { join, normalize, sep } from "node:path";
import type { KubeObject } from "../api/types.js";
import type { Mount } from "../runtime/types.js";
import { EnvError, podMetadataField, resourceFieldValue } from "./env.js";
import { list, type Obj, record, str } from "./fields.js";

export interface VolumeSources {
  getConfigMap(ns: string, name: string): Promise<KubeObject | undefined>;
  getSecret(ns: string, name: string): Promise<KubeObject | undefined>;
  /** Node allocatable for downwardAPI resourceFieldRef limits that are unset. */
  allocatable?: { cpu?: string; memory?: string };
  /** A token for a projected serviceAccountToken source (TokenRequest); without it such volumes fail. */
  getServiceAccountToken?(
    ns: string,
    serviceAccount: string,
    audience: string,
    expirationSeconds: number,
  ): Promise<string>;
}

export class VolumeError extends Error {
  override name = "VolumeError";
}

interface FileProjection {
  data: Buffer;
  mode: number;
}
type Payload = Map<string, FileProjection>;

const DEFAULT_MODE = 0o644;
/** Volumes whose plugins mount read-only whatever the volumeMount says (mustMountRO). */
const readOnlyVolumes = new WeakMap<Map<string, string>, Set<string>>();

function mode(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0o777 ? v : fallback;
}

/** Materializes every volume of the pod under <podDir>/volumes/<name>; returns name → host path. */
export async function prepareVolumes(
  pod: KubeObject,
  podDir: string,
  src: VolumeSources,
): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  const readOnly = new Set<string>();
  readOnlyVolumes.set(result, readOnly);
  for (const volume of list(record(pod.spec).volumes)) {
    const name = str(volume.name);
    try {
      if (name === "" || name.includes("/") || name === "." || name === "..")
        throw new Error("invalid volume name");
      const dir = join(podDir, "volumes", name);
      if (volume.emptyDir !== undefined) {
        await fs.mkdir(dir, { recursive: true });
        await fs.chmod(dir, 0o777);
        result.set(name, dir);
      } else if (volume.hostPath !== undefined) {
        result.set(name, await hostPath(record(volume.hostPath)));
      } else {
        const payload = await volumePayload(pod, volume, src);
        if (payload === undefined)
          throw new Error(`volume type ${volumeKind(volume)} is not supported by kite's kubelet`);
        await atomicWrite(dir, payload);
        readOnly.add(name);
        result.set(name, dir);
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new VolumeError(`MountVolume.SetUp failed for volume "${name}" : ${message}`);
    }
  }
  return result;
}

function volumeKind(volume: Obj): string {
  return Object.keys(volume).find((k) => k !== "name") ?? "(none)";
}

async function hostPath(spec: Obj): Promise<string> {
  const path = str(spec.path);
  if (!path.startsWith("/")) throw new Error(`hostPath ${JSON.stringify(path)} must be absolute`);
  const type = str(spec.type);
  const stat = await fs.stat(path).catch(() => undefined);
  if (type === "DirectoryOrCreate" && !stat) await fs.mkdir(path, { recursive: true, mode: 0o755 });
  else if (type === "FileOrCreate" && !stat) await fs.writeFile(path, "", { mode: 0o644 });
  else if (type === "Directory" && !stat?.isDirectory())
    throw new Error(`hostPath type check failed: ${path} is not a directory`);
  else if (type === "File" && !stat?.isFile())
    throw new Error(`hostPath type check failed: ${path} is not a file`);
  else if (type === "Socket" && !stat?.isSocket())
    throw new Error(`hostPath type check failed: ${path} is not a socket`);
  return path;
}

/** The files a configMap/secret/downwardAPI/projected volume holds; undefined for other kinds. */
async function volumePayload(pod: KubeObject, volume: Obj, src: VolumeSources): Promise<Payload | undefined> {
  const ns = pod.metadata?.namespace ?? "default";
  if (volume.configMap !== undefined) {
    const cm = record(volume.configMap);
    return configMapPayload(ns, cm, mode(cm.defaultMode, DEFAULT_MODE), src);
  }
  if (volume.secret !== undefined) {
    const s = record(volume.secret);
    return secretPayload(ns, { ...s, name: s.secretName }, mode(s.defaultMode, DEFAULT_MODE), src);
  }
  if (volume.downwardAPI !== undefined) {
    const d = record(volume.downwardAPI);
    return downwardPayload(pod, list(d.items), mode(d.defaultMode, DEFAULT_MODE), src);
  }
  if (volume.projected !== undefined) {
    const p = record(volume.projected);
    const defaultMode = mode(p.defaultMode, DEFAULT_MODE);
    const payload: Payload = new Map();
    for (const source of list(p.sources)) {
      let part: Payload;
      if (source.configMap) part = await configMapPayload(ns, record(source.configMap), defaultMode, src);
      else if (source.secret) part = await secretPayload(ns, record(source.secret), defaultMode, src);
      else if (source.downwardAPI)
        part = downwardPayload(pod, list(record(source.downwardAPI).items), defaultMode, src);
      else if (source.serviceAccountToken)
        part = await tokenPayload(pod, record(source.serviceAccountToken), defaultMode, src);
      else
        throw new Error(
          `projected source ${Object.keys(source)[0] ?? "(none)"} is not supported by kite's kubelet`,
        );
      for (const [k, v] of part) payload.set(k, v);
    }
    return payload;
  }
  return undefined;
}

/** MakePayload for configMap and secret volumes: all keys, or the listed items. */
function keyedPayload(
  data: Map<string, Buffer>,
  items: Obj[],
  defaultMode: number,
  optional: boolean,
  what: string,
): Payload {
  const payload: Payload = new Map();
  if (items.length === 0) {
    for (const [k, v] of data) payload.set(k, { data: v, mode: defaultMode });
    return payload;
  }
  for (const item of items) {
    const value = data.get(str(item.key));
    if (value === undefined) {
      if (optional) continue;
      throw new Error(
        `${what} references non-existent ${what === "configmap" ? "config" : "secret"} key: ${str(item.key)}`,
      );
    }
    payload.set(str(item.path), { data: value, mode: mode(item.mode, defaultMode) });
  }
  return payload;
}

async function configMapPayload(
  ns: string,
  spec: Obj,
  defaultMode: number,
  src: VolumeSources,
): Promise<Payload> {
  const name = str(spec.name);
  const optional = spec.optional === true;
  const cm = await src.getConfigMap(ns, name);
  if (!cm) {
    if (optional) return new Map();
    throw new Error(`configmap "${name}" not found`);
  }
  const data = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(record(cm.data)))
    if (typeof v === "string") data.set(k, Buffer.from(v));
  for (const [k, v] of Object.entries(record(cm.binaryData)))
    if (typeof v === "string") data.set(k, Buffer.from(v, "base64"));
  return keyedPayload(data, list(spec.items), defaultMode, optional, "configmap");
}

async function secretPayload(
  ns: string,
  spec: Obj,
  defaultMode: number,
  src: VolumeSources,
): Promise<Payload> {
  const name = str(spec.name);
  const optional = spec.optional === true;
  const secret = await src.getSecret(ns, name);
  if (!secret) {
    if (optional) return new Map();
    throw new Error(`secret "${name}" not found`);
  }
  const data = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(record(secret.data)))
    if (typeof v === "string") data.set(k, Buffer.from(v, "base64"));
  return keyedPayload(data, list(spec.items), defaultMode, optional, "secret");
}

function downwardPayload(pod: KubeObject, items: Obj[], defaultMode: number, src: VolumeSources): Payload {
  const payload: Payload = new Map();
  for (const item of items) {
    let value: string;
    try {
      if (item.fieldRef) value = podMetadataField(pod, str(record(item.fieldRef).fieldPath));
      else if (item.resourceFieldRef) {
        const ref = record(item.resourceFieldRef);
        const containers = list(record(pod.spec).containers);
        value = resourceFieldValue(pod, containers[0] ?? {}, ref, src.allocatable);
      } else throw new Error(`downwardAPI item ${str(item.path)} has neither fieldRef nor resourceFieldRef`);
    } catch (err) {
      if (err instanceof EnvError) throw new Error(err.message);
      throw err;
    }
    payload.set(str(item.path), { data: Buffer.from(value), mode: mode(item.mode, defaultMode) });
  }
  return payload;
}

async function tokenPayload(
  pod: KubeObject,
  spec: Obj,
  defaultMode: number,
  src: VolumeSources,
): Promise<Payload> {
  if (!src.getServiceAccountToken)
    throw new Error("serviceAccountToken projection is not available on this kubelet");
  const sa = str(record(pod.spec).serviceAccountName) || "default";
  const expiration = typeof spec.expirationSeconds === "number" ? spec.expirationSeconds : 3600;
  const token = await src.getServiceAccountToken(
    pod.metadata?.namespace ?? "default",
    sa,
    str(spec.audience),
    expiration,
  );
  return new Map([[str(spec.path) || "token", { data: Buffer.from(token), mode: defaultMode }]]);
}

/** AtomicWriter.validatePath: relative, no "..", not starting with "..". */
function validatePath(path: string): void {
  if (path === "" || path.startsWith("/") || path.startsWith("..") || path.split("/").includes(".."))
    throw new Error(`invalid path: ${JSON.stringify(path)}`);
}

async function sameContent(dir: string, payload: Payload): Promise<boolean> {
  for (const [path, file] of payload) {
    const stat = await fs.stat(join(dir, path)).catch(() => undefined);
    if (!stat?.isFile() || (stat.mode & 0o777) !== file.mode) return false;
    if (!(await fs.readFile(join(dir, path))).equals(file.data)) return false;
  }
  const count = async (d: string): Promise<number> => {
    let n = 0;
    for (const e of await fs.readdir(d, { withFileTypes: true }))
      n += e.isDirectory() ? await count(join(d, e.name)) : 1;
    return n;
  };
  return (await count(dir)) === payload.size;
}

/** Writes payload into dir: new ..<timestamp> dir, ..data swapped by rename, top-level links via ..data. */
export async function atomicWrite(dir: string, payload: Payload): Promise<void> {
  for (const path of payload.keys()) validatePath(path);
  await fs.mkdir(dir, { recursive: true });
  const dataLink = join(dir, "..data");
  const oldTsName = await fs.readlink(dataLink).catch(() => undefined);
  if (oldTsName && (await sameContent(join(dir, oldTsName), payload).catch(() => false))) return;

  const stamp = new Date().toISOString().replace(/[-:T]/g, "_").replace(/\..*$/, "");
  const tsDir = await fs.mkdtemp(join(dir, `..${stamp}.`));
  const tsName = tsDir.slice(dir.length + 1);
  for (const [path, file] of payload) {
    const target = join(tsDir, normalize(path));
    await fs.mkdir(join(target, ".."), { recursive: true });
    await fs.writeFile(target, file.data);
    await fs.chmod(target, file.mode);
  }
  const tmpLink = join(dir, "..data_tmp");
  await fs.rm(tmpLink, { force: true });
  await fs.symlink(tsName, tmpLink);
  await fs.rename(tmpLink, dataLink);

  const wanted = new Set([...payload.keys()].map((p) => normalize(p).split(sep)[0]!));
  for (const top of wanted) {
    const link = join(dir, top);
    const existing = await fs.readlink(link).catch(() => undefined);
    if (existing !== join("..data", top)) {
      await fs.rm(link, { recursive: true, force: true });
      await fs.symlink(join("..data", top), link);
    }
  }
  for (const entry of await fs.readdir(dir)) {
    if (entry.startsWith("..") || wanted.has(entry)) continue;
    await fs.rm(join(dir, entry), { recursive: true, force: true });
  }
  if (oldTsName && oldTsName !== tsName) await fs.rm(join(dir, oldTsName), { recursive: true, force: true });
}

/** The container's volumeMounts as runtime mounts; subPath joins under the volume (created if missing). */
export function containerMounts(container: Record<string, unknown>, volumes: Map<string, string>): Mount[] {
  const mounts: Mount[] = [];
  const readOnly = readOnlyVolumes.get(volumes);
  for (const vm of list(container.volumeMounts)) {
    const name = str(vm.name);
    const base = volumes.get(name);
    if (base === undefined)
      throw new VolumeError(`cannot find volume "${name}" to mount into container "${str(container.name)}"`);
    let hostPath = base;
    const subPath = str(vm.subPath);
    if (subPath !== "") {
      if (subPath.startsWith("/") || subPath.split("/").includes(".."))
        throw new VolumeError(
          `subPath ${JSON.stringify(subPath)} of volume "${name}" must be a relative path without ".."`,
        );
      hostPath = join(base, subPath);
      if (!existsSync(hostPath)) {
        try {
          mkdirSync(hostPath, { recursive: true, mode: 0o750 });
        } catch (err) {
          throw new VolumeError(
            `failed to create subPath directory for volumeMount "${name}" of container "${str(container.name)}": ${(err as Error).message}`,
          );
        }
      }
    }
    mounts.push({
      hostPath,
      containerPath: str(vm.mountPath),
      readOnly: vm.readOnly === true || readOnly?.has(name) === true,
    });
  }
  return mounts;
}

/** Removes <podDir>/volumes (hostPath volumes live elsewhere and are left alone). */
export async function cleanupVolumes(podDir: string): Promise<void> {
  await fs.rm(join(podDir, "volumes"), { recursive: true, force: true });
}
