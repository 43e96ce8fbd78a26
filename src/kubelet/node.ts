// The kubelet's Node agent: registration (create, or bring an existing Node up to date), the Lease
// in kube-node-lease renewed every 10 s, and the node status checked every 10 s and written when
// it changed or every 5 min (upstream's nodeStatusUpdateFrequency / nodeStatusReportFrequency).
import { isStatusError, type KubeObject } from "../api/index.js";
import { type Clock, type RestClient, realClock, type TimerHandle } from "../client/index.js";
import { leaseObject, NODE_LEASE_NAMESPACE } from "../hollow/index.js";
import {
  kubeletNodeConditions,
  type MachineInfo,
  machineInfo,
  type NodeConditionState,
  type NodeSpecOptions,
  nodeObject,
  nodeStatusBase,
} from "./nodestatus.js";

const NODES = { group: "", version: "v1", resource: "nodes" } as const;
const LEASES = { group: "coordination.k8s.io", version: "v1", resource: "leases" } as const;
export interface NodeAgentOptions extends NodeSpecOptions {
  client: RestClient;
  clock?: Clock;
  leaseRenewIntervalMs?: number;
  nodeStatusUpdateFrequencyMs?: number;
  nodeStatusReportFrequencyMs?: number;
  rootDir: string;
  log?: (m: string) => void;
}

/** Registration, Lease renewals and node status reports of one kubelet. */
export class NodeAgent {
  private readonly clock: Clock;
  private readonly log: (m: string) => void;
  private machine!: MachineInfo;
  private state: NodeConditionState = { memoryPressure: false };
  private lastReport = 0;
  private lastWritten = "";
  private leaseTimer: TimerHandle | undefined;
  private statusTimer: TimerHandle | undefined;
  private stopped = false;
  private reporting: Promise<void> = Promise.resolve();
  uid: string | undefined;

  constructor(private readonly o: NodeAgentOptions) {
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? (() => {});
  }

  get machineInfo(): MachineInfo {
    return this.machine;
  }

  /** Creates the Node, or updates labels, taints-if-none and status of the existing one; then the Lease. */
  async register(): Promise<KubeObject> {
    this.machine = await machineInfo(this.o.rootDir);
    const nodes = this.o.client.resource(NODES);
    const now = this.clock.now();
    const desired = nodeObject(this.o, this.machine, now);
    let node: KubeObject;
    try {
      node = await nodes.create(desired);
    } catch (err) {
      if (!(isStatusError(err) && err.code === 409)) throw err;
      node = await nodes.patch(this.o.nodeName, "strategic", {
        metadata: { labels: desired.metadata?.labels },
      });
      node = await this.writeStatus(node, now);
    }
    this.uid = node.metadata?.uid;
    this.lastReport = now;
    this.lastWritten = this.statusKey(node.status);
    await this.renewLease();
    return node;
  }

  start(): void {
    this.armLease(this.o.leaseRenewIntervalMs ?? 10_000);
    this.armStatus(this.o.nodeStatusUpdateFrequencyMs ?? 10_000);
  }

  /** From the eviction manager: reported at once. */
  setMemoryPressure(underPressure: boolean): void {
    if (this.state.memoryPressure === underPressure) return;
    this.state = { ...this.state, memoryPressure: underPressure };
    this.reporting = this.reporting
      .then(() => this.reportStatus())
      .catch((err) => this.log(`node status: ${(err as Error).message}`));
  }

  get memoryPressure(): boolean {
    return this.state.memoryPressure;
  }

  private statusKey(status: KubeObject | undefined): string {
    if (!status) return "";
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).map((c: KubeObject) => [
      c.type,
      c.status,
      c.reason,
    ]);
    return JSON.stringify([
      conditions,
      status.capacity,
      status.allocatable,
      status.addresses,
      status.daemonEndpoints,
      status.nodeInfo,
    ]);
  }

  private async writeStatus(current: KubeObject, now: number): Promise<KubeObject> {
    const old: KubeObject[] = Array.isArray(current.status?.conditions) ? current.status.conditions : [];
    const status = {
      ...nodeStatusBase(this.o, this.machine),
      conditions: kubeletNodeConditions(this.state, old, now),
    };
    const out = await this.o.client
      .resource(NODES)
      .patch(this.o.nodeName, "strategic", { status }, { subresource: "status" });
    this.lastReport = now;
    this.lastWritten = this.statusKey(out.status);
    return out;
  }

  /** Writes the status when it changed (from ours or from what the API holds) or the report is due. */
  async reportStatus(): Promise<void> {
    if (this.stopped) return;
    const now = this.clock.now();
    const current = await this.o.client.resource(NODES).get(this.o.nodeName);
    const old: KubeObject[] = Array.isArray(current.status?.conditions) ? current.status.conditions : [];
    const desired = {
      ...nodeStatusBase(this.o, this.machine),
      conditions: kubeletNodeConditions(this.state, old, now),
    };
    const changed =
      this.statusKey(desired) !== this.statusKey(current.status) ||
      this.statusKey(desired) !== this.lastWritten;
    const due = now - this.lastReport >= (this.o.nodeStatusReportFrequencyMs ?? 5 * 60_000);
    if (changed || due) await this.writeStatus(current, now);
  }

  private async renewLease(): Promise<void> {
    const leases = this.o.client.resource(LEASES, NODE_LEASE_NAMESPACE);
    const now = this.clock.now();
    const lease = leaseObject({ metadata: { name: this.o.nodeName, uid: this.uid } }, now);
    try {
      await leases.patch(this.o.nodeName, "merge", { spec: lease.spec });
    } catch (err) {
      if (!(isStatusError(err) && err.code === 404)) throw err;
      await leases.create(lease);
    }
  }

  private armLease(ms: number): void {
    this.leaseTimer = this.clock.after(ms, () => {
      if (this.stopped) return;
      this.renewLease()
        .catch((err: unknown) => this.log(`lease: ${(err as Error).message}`))
        .finally(() => {
          if (!this.stopped) this.armLease(ms);
        });
    });
  }

  private armStatus(ms: number): void {
    this.statusTimer = this.clock.after(ms, () => {
      if (this.stopped) return;
      this.reporting = this.reporting
        .then(() => this.reportStatus())
        .catch((err: unknown) => this.log(`node status: ${(err as Error).message}`))
        .finally(() => {
          if (!this.stopped) this.armStatus(ms);
        });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.leaseTimer?.cancel();
    this.statusTimer?.cancel();
    await this.reporting;
  }
}
