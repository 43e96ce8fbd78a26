// The container runtime contract the kubelet drives, shaped after the CRI: a pod sandbox holds the
// pod's network identity (its IP) and directories; containers run inside it. The first runtime,
// `process`, runs containers as host process groups without root; the root runtime (runc, pause,
// namespaces, cgroups, a real pod network) implements the same interface later.

/** A directory made available to a container at mountPath. */
export interface Mount {
  /** Host directory the kubelet prepared (configMap, secret, emptyDir, downwardAPI). */
  hostPath: string;
  /** Path the container asks for, e.g. /etc/config. */
  containerPath: string;
  readOnly: boolean;
}

export interface SandboxConfig {
  /** Pod uid; sandbox ids derive from it so a restarted kubelet finds its pods again. */
  uid: string;
  name: string;
  namespace: string;
  /** Pod's hostNetwork: the sandbox uses the node's IP instead of one from the pod CIDR. */
  hostNetwork: boolean;
  /** Where this pod's container logs live: <logDir>/<container>/<restartCount>.log. */
  logDirectory: string;
  /** Labels and annotations, kept for listing sandboxes after a restart. */
  labels: Record<string, string>;
}

export interface Sandbox {
  id: string;
  /** The pod's IP: from the node's pod CIDR, or the node IP for hostNetwork pods. */
  ip: string;
  createdAt: Date;
}

export interface ContainerConfig {
  name: string;
  image: string;
  /** Resolved command + args (entrypoint semantics already applied by the kubelet). Empty: the
   *  process runtime cannot run it and says so in the status reason. */
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  mounts: Mount[];
  /** Absolute path of this attempt's log file (stdout+stderr, CRI log format lines). */
  logPath: string;
  /** limits.memory in bytes; a breach kills the container with reason OOMKilled, exit 137. */
  memoryLimitBytes?: number;
  /** requests.cpu / limits.cpu in millicores (the root runtime maps them to cgroup weights/quota). */
  cpuRequestMillis?: number;
  cpuLimitMillis?: number;
  /** The oom_score_adj the pod's QoS class gives (applied where the runtime can). */
  oomScoreAdj?: number;
  /** Attempt number (restartCount) this container start belongs to. */
  attempt: number;
}

export type ContainerState = "created" | "running" | "exited" | "unknown";

export interface ContainerStatus {
  id: string;
  name: string;
  attempt: number;
  state: ContainerState;
  pid?: number;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  exitCode?: number;
  /** Upstream's reasons: Completed, Error, OOMKilled, ContainerCannotRun, StartError. */
  reason?: string;
  message?: string;
  logPath: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ContainerStats {
  /** Resident memory of the container's whole process group, bytes. */
  memoryBytes: number;
  /** CPU time used since start, nanoseconds. */
  cpuNanos: number;
}

export interface RuntimeVersion {
  /** "process" or "runc" (what node.status.nodeInfo.containerRuntimeVersion shows as name://version). */
  name: string;
  version: string;
}

export interface Runtime {
  version(): RuntimeVersion;
  /** The node's spec.podCIDR once the node IPAM controller assigned it (CRI UpdateRuntimeConfig);
   *  runSandbox for a non-hostNetwork pod rejects until it is set. */
  updatePodCIDR(cidr: string): void;
  runSandbox(config: SandboxConfig): Promise<Sandbox>;
  /** Stops every container in it (SIGKILL, the kubelet has already run graceful stops). */
  stopSandbox(id: string): Promise<void>;
  /** Frees the IP and directories. Idempotent. */
  removeSandbox(id: string): Promise<void>;
  listSandboxes(): Promise<Array<Sandbox & { config: SandboxConfig }>>;

  createContainer(sandboxId: string, config: ContainerConfig): Promise<string>;
  /** Starts it; rejects with a reason (e.g. ContainerCannotRun: no command) the kubelet reports. */
  startContainer(id: string): Promise<void>;
  /** SIGTERM to the process group, SIGKILL after graceSeconds; resolves once it has exited. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): ContainerStatus | undefined;
  listContainers(sandboxId?: string): ContainerStatus[];
  /** Runs a command in the container's context (env, working dir) for exec probes and preStop. */
  exec(id: string, argv: string[], timeoutMs: number): Promise<ExecResult>;
  stats(id: string): Promise<ContainerStats | undefined>;
  /** Called when a container exits (for any reason), so the kubelet resyncs that pod at once. */
  onContainerExit(listener: (status: ContainerStatus) => void): () => void;
  close(): Promise<void>;
}
