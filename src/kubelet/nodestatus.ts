// What the kubelet's Node says: the machine's facts (cpus, memory, disk, boot id, OS image) as
// capacity, allocatable (capacity less the hard eviction threshold) and nodeInfo; its labels,
// addresses and daemon endpoint; the Ready and pressure conditions with upstream's reasons.
import { readFile, statfs } from "node:fs/promises";
import { arch, cpus, hostname, release, totalmem } from "node:os";
import { type KubeObject, parseQuantity } from "../api/index.js";
import { KUBELET_VERSION } from "../hollow/index.js";
import type { RuntimeVersion } from "../runtime/index.js";
import { rfc3339 } from "./status.js";

export const DEFAULT_EVICTION_HARD_MEMORY_BYTES = 100 * 1024 * 1024;

export interface MachineInfo {
  cpu: string;
  memoryBytes: number;
  ephemeralStorageBytes?: number;
  bootID: string;
  machineID: string;
  systemUUID: string;
  osImage: string;
  kernelVersion: string;
  architecture: string;
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}

function goArch(): string {
  const a = arch();
  return a === "x64" ? "amd64" : a === "ia32" ? "386" : a;
}

export async function machineInfo(rootDir: string): Promise<MachineInfo> {
  const osRelease = (await readTrimmed("/etc/os-release")) ?? "";
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1];
  const machineID = (await readTrimmed("/etc/machine-id")) ?? hostname();
  let ephemeralStorageBytes: number | undefined;
  try {
    const fs = await statfs(rootDir);
    ephemeralStorageBytes = fs.blocks * fs.bsize;
  } catch {
    ephemeralStorageBytes = undefined;
  }
  return {
    cpu: String(cpus().length || 1),
    memoryBytes: totalmem(),
    ephemeralStorageBytes,
    bootID: (await readTrimmed("/proc/sys/kernel/random/boot_id")) ?? "",
    machineID,
    systemUUID: (await readTrimmed("/sys/class/dmi/id/product_uuid")) ?? machineID,
    osImage: pretty ?? "Linux",
    kernelVersion: release(),
    architecture: goArch(),
  };
}

export interface NodeSpecOptions {
  nodeName: string;
  nodeIP: string;
  port: number;
  runtime: RuntimeVersion;
  capacity?: { cpu?: string; memory?: string; pods?: string };
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: string }>;
  evictionHardMemoryBytes: number;
}

function kibibytes(bytes: number): string {
  return `${Math.max(0, Math.floor(bytes / 1024))}Ki`;
}

/** capacity and allocatable (capacity less the hard eviction thresholds, as upstream). */
export function nodeResources(
  o: NodeSpecOptions,
  m: MachineInfo,
): { capacity: KubeObject; allocatable: KubeObject } {
  const memoryBytes = o.capacity?.memory ? Number(parseQuantity(o.capacity.memory).value()) : m.memoryBytes;
  const capacity: KubeObject = {
    cpu: o.capacity?.cpu ?? m.cpu,
    memory: o.capacity?.memory ?? kibibytes(memoryBytes),
    pods: o.capacity?.pods ?? "110",
  };
  const allocatable: KubeObject = { ...capacity, memory: kibibytes(memoryBytes - o.evictionHardMemoryBytes) };
  if (m.ephemeralStorageBytes !== undefined) {
    capacity["ephemeral-storage"] = kibibytes(m.ephemeralStorageBytes);
    allocatable["ephemeral-storage"] = kibibytes(m.ephemeralStorageBytes * 0.9);
  }
  return { capacity, allocatable };
}

export interface NodeConditionState {
  memoryPressure: boolean;
}

/** The four conditions with upstream's reasons and messages; times carried from `old` when unchanged. */
export function kubeletNodeConditions(
  state: NodeConditionState,
  old: KubeObject[],
  now: number,
): KubeObject[] {
  const at = rfc3339(now);
  const cond = (type: string, status: string, reason: string, message: string) => {
    const prev = old.find((c) => c?.type === type);
    return {
      type,
      status,
      lastHeartbeatTime: at,
      lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : at,
      reason,
      message,
    };
  };
  return [
    state.memoryPressure
      ? cond(
          "MemoryPressure",
          "True",
          "KubeletHasInsufficientMemory",
          "kubelet has insufficient memory available",
        )
      : cond(
          "MemoryPressure",
          "False",
          "KubeletHasSufficientMemory",
          "kubelet has sufficient memory available",
        ),
    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
  ];
}

export function nodeLabels(o: NodeSpecOptions, m: MachineInfo): Record<string, string> {
  return {
    "beta.kubernetes.io/arch": m.architecture,
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": m.architecture,
    "kubernetes.io/hostname": o.nodeName,
    "kubernetes.io/os": "linux",
    ...o.labels,
  };
}

/** The status fields the kubelet owns (conditions aside). */
export function nodeStatusBase(o: NodeSpecOptions, m: MachineInfo): KubeObject {
  const { capacity, allocatable } = nodeResources(o, m);
  return {
    capacity,
    allocatable,
    addresses: [
      { type: "InternalIP", address: o.nodeIP },
      { type: "Hostname", address: o.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: o.port } },
    nodeInfo: {
      machineID: m.machineID,
      systemUUID: m.systemUUID,
      bootID: m.bootID,
      kernelVersion: m.kernelVersion,
      osImage: m.osImage,
      containerRuntimeVersion: `${o.runtime.name}://${o.runtime.version}`,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: m.architecture,
    },
  };
}

export function nodeObject(o: NodeSpecOptions, m: MachineInfo, now: number): KubeObject {
  const spec: KubeObject = {};
  if (o.taints && o.taints.length > 0) spec.taints = o.taints.map((t) => ({ ...t }));
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: o.nodeName,
      labels: nodeLabels(o, m),
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
      },
    },
    spec,
    status: {
      ...nodeStatusBase(o, m),
      conditions: kubeletNodeConditions({ memoryPressure: false }, [], now),
    },
  };
}
