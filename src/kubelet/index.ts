// src/kubelet owns the node agent: Node registration, Lease and status heartbeats, the pods bound
// to the node run through a Runtime (src/runtime) with init containers, restart back-off, probes,
// graceful termination and eviction, their status written back, and the HTTP endpoint the
// apiserver's pods/log reaches (/containerLogs) plus /healthz, /metrics and /pods. It talks to the
// apiserver only through src/client.
import type { Registry } from "prom-client";
import type { Clock, RestClient } from "../client/index.js";
import type { Runtime } from "../runtime/index.js";
import { KubeletImpl } from "./kubelet.js";

export interface KubeletOptions {
  client: RestClient;
  nodeName: string;
  nodeIP: string;
  runtime: Runtime;
  /** pods/<uid>/ (volumes), logs/<ns>_<pod>_<uid>/<container>/<n>.log */
  rootDir: string;
  /** HTTP on nodeIP; default 10250; 0 = any free port. */
  port?: number;
  /** Default: the machine's cpus and memory, pods 110. */
  capacity?: { cpu?: string; memory?: string; pods?: string };
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: string }>;
  clusterDomain?: string;
  clusterDNS?: string;
  /** 10 s; lease duration 40 s. */
  leaseRenewIntervalMs?: number;
  /** 10 s check; written when changed or every 5 min (nodeStatusReportFrequency). */
  nodeStatusUpdateFrequencyMs?: number;
  evictionHardMemoryAvailableBytes?: number;
  memoryAvailableBytes?: () => Promise<number>;
  registry?: Registry;
  clock?: Clock;
  log?: (m: string) => void;
}

export interface Kubelet {
  readonly port: number;
  stop(opts?: { stopPods?: boolean }): Promise<void>;
}

/** Starts a kubelet; resolves once its Node is registered and its pod informer has synced. */
export async function startKubelet(opts: KubeletOptions): Promise<Kubelet> {
  if (!opts.nodeName) throw new Error("startKubelet: nodeName is required");
  if (!opts.nodeIP) throw new Error("startKubelet: nodeIP is required");
  const kubelet = new KubeletImpl(opts);
  try {
    await kubelet.start();
  } catch (err) {
    await kubelet.stop({ stopPods: true }).catch(() => {});
    throw err;
  }
  return kubelet;
}

export { KubeletImpl } from "./kubelet.js";
