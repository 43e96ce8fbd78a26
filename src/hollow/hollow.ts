// Hollow nodes, as KWOK runs them: N Node objects registered with bounded concurrency, each with a
// Lease in kube-node-lease renewed every leaseInterval (renewals spread over the interval) and a
// node status reported as the kubelet's nodeStatusReportFrequency does: when it changed (another
// component marked the node not Ready) or every statusReport period. One shared pod informer,
// indexed by spec.nodeName, feeds a work queue that runs the pods bound to these nodes: Running
// and Ready at once, Succeeded after podCompletion for pods that are not restartPolicy Always, and
// deleted with grace period 0 (containers marked terminated first) once a deletion is requested.
import { isStatusError, type KubeObject } from "../api/index.js";
import {
  ItemExponentialFailureRateLimiter,
  objectKey,
  RestClient,
  runWorkers,
  SharedInformerFactory,
  splitKey,
  WorkQueue,
} from "../client/index.js";
import {
  leaseObject,
  NODE_LEASE_NAMESPACE,
  type NodeShape,
  nodeConditions,
  nodeIP,
  nodeObject,
} from "./node.js";
import {
  allContainersTerminated,
  finishesOnItsOwn,
  podIP,
  runningStatus,
  startTimeOf,
  succeededStatus,
  terminatedStatus,
} from "./pods.js";

const NODES = { group: "", version: "v1", resource: "nodes" } as const;
const PODS = { group: "", version: "v1", resource: "pods" } as const;
const LEASES = { group: "coordination.k8s.io", version: "v1", resource: "leases" } as const;
export const NODE_NAME_INDEX = "spec.nodeName";

export interface HollowOptions {
  client: RestClient;
  nodes: number;
  /** Node names are <prefix><i>, i from 0; default "hollow-". */
  namePrefix?: string;
  shape?: Partial<NodeShape>;
  /** Lease renewal period; default 10 s. */
  leaseIntervalMs?: number;
  /** How often each node checks whether its status needs reporting; default 10 s. */
  statusIntervalMs?: number;
  /** An unchanged status is still reported this often; default 5 min. */
  statusReportMs?: number;
  /** Run time of pods that are not restartPolicy Always; default 5 s. */
  podCompletionMs?: number;
  /** Registrations in flight, and pod workers; default 64 and 32. */
  registerConcurrency?: number;
  podWorkers?: number;
  /** Client-side rate limit of the hollow nodes' own client; default 5,000 qps. */
  qps?: number;
  log?: (message: string) => void;
  onProgress?: (registered: number, total: number) => void;
}

interface HollowNode {
  name: string;
  index: number;
  uid?: string;
  podSeq: number;
  lastReport: number;
  heartbeats: boolean;
  slowStatus: boolean;
  leaseTimer?: NodeJS.Timeout;
  statusTimer?: NodeJS.Timeout;
}

const defaultShape: NodeShape = { cpu: "32", memory: "256Gi", pods: "110", labels: {}, taints: [] };

export class HollowNodes {
  readonly names: string[];
  private readonly client: RestClient;
  /** Leases and node status on their own connections (the kubelet's heartbeat client), so a burst
   *  of pod status writes does not delay the heartbeats that keep the nodes Ready. */
  private readonly heartbeatClient: RestClient;
  private readonly byName = new Map<string, HollowNode>();
  private readonly informers: SharedInformerFactory;
  private readonly queue = new WorkQueue<string>({
    name: "hollow-pods",
    rateLimiter: new ItemExponentialFailureRateLimiter<string>(5, 10_000),
  });
  private readonly shape: NodeShape;
  private readonly leaseMs: number;
  private readonly statusMs: number;
  private readonly reportMs: number;
  private readonly completionMs: number;
  private readonly log: (message: string) => void;
  private workers: Promise<void> | undefined;
  private stopped = false;

  private constructor(private readonly opts: HollowOptions) {
    if (!Number.isInteger(opts.nodes) || opts.nodes < 0)
      throw new Error(`nodes must be a non-negative integer, got ${opts.nodes}`);
    this.client = new RestClient({
      ...opts.client.config,
      qps: opts.qps ?? 5_000,
      burst: opts.qps ?? 5_000,
      userAgent: "kite-hollow",
    });
    this.heartbeatClient = new RestClient({ ...this.client.config, userAgent: "kite-hollow/heartbeat" });
    this.shape = { ...defaultShape, ...opts.shape };
    this.leaseMs = opts.leaseIntervalMs ?? 10_000;
    this.statusMs = opts.statusIntervalMs ?? 10_000;
    this.reportMs = opts.statusReportMs ?? 5 * 60_000;
    this.completionMs = opts.podCompletionMs ?? 5_000;
    this.log = opts.log ?? (() => {});
    const prefix = opts.namePrefix ?? "hollow-";
    this.names = Array.from({ length: opts.nodes }, (_, i) => `${prefix}${i}`);
    this.names.forEach((name, index) => {
      this.byName.set(name, { name, index, podSeq: 0, lastReport: 0, heartbeats: true, slowStatus: false });
    });
    this.informers = new SharedInformerFactory(this.client, { log: this.log });
    this.informers.forResource(NODES);
    const pods = this.informers.forResource(PODS);
    pods.addIndexers({ [NODE_NAME_INDEX]: (pod) => (pod.spec?.nodeName ? [pod.spec.nodeName] : []) });
    const enqueue = (pod: KubeObject) => {
      if (this.byName.has(pod.spec?.nodeName ?? "")) this.queue.add(objectKey(pod));
    };
    pods.addEventHandler({ onAdd: enqueue, onUpdate: (_old, pod) => enqueue(pod) });
  }

  /** Registers the nodes and starts heartbeats and pod handling; resolves once all are registered. */
  static async start(opts: HollowOptions): Promise<HollowNodes> {
    const hollow = new HollowNodes(opts);
    try {
      await hollow.run();
    } catch (err) {
      await hollow.stop();
      throw err;
    }
    return hollow;
  }

  private async run(): Promise<void> {
    this.informers.start();
    await this.informers.waitForCacheSync();
    this.workers = runWorkers(
      this.queue,
      this.opts.podWorkers ?? 32,
      (key) => this.reconcilePod(key),
      (key, err) => this.log(`pod ${key}: ${(err as Error).message}`),
    );
    let next = 0;
    let registered = 0;
    const worker = async () => {
      while (next < this.names.length && !this.stopped) {
        const node = this.byName.get(this.names[next++] as string) as HollowNode;
        await this.register(node);
        this.opts.onProgress?.(++registered, this.names.length);
      }
    };
    await Promise.all(Array.from({ length: this.opts.registerConcurrency ?? 64 }, worker));
    if (this.stopped) return;
    const count = this.names.length;
    for (const node of this.byName.values()) {
      const offset = count === 0 ? 0 : (node.index / count) * this.leaseMs;
      this.armLease(node, offset);
      this.armStatus(node, (node.index / Math.max(1, count)) * this.statusMs);
    }
  }

  private async register(node: HollowNode): Promise<void> {
    const now = Date.now();
    const nodes = this.client.resource(NODES);
    let created: KubeObject;
    try {
      created = await nodes.create(nodeObject(node.name, node.index, this.shape, now));
    } catch (err) {
      if (!(isStatusError(err) && err.code === 409)) throw err;
      // Registered before (a restart): report a fresh status instead.
      created = await nodes.patch(
        node.name,
        "strategic",
        { status: { conditions: nodeConditions(now, now) } },
        { subresource: "status" },
      );
    }
    node.uid = created.metadata?.uid;
    node.lastReport = now;
    try {
      await this.client.resource(LEASES, NODE_LEASE_NAMESPACE).create(leaseObject(created, now));
    } catch (err) {
      if (!(isStatusError(err) && err.code === 409)) throw err;
      await this.renewLease(node);
    }
  }

  private armLease(node: HollowNode, delayMs: number): void {
    node.leaseTimer = setTimeout(() => {
      if (this.stopped) return;
      const renew = node.heartbeats ? this.renewLease(node) : Promise.resolve();
      renew
        .catch((err: unknown) => this.log(`lease of ${node.name}: ${(err as Error).message}`))
        .finally(() => {
          if (!this.stopped) this.armLease(node, this.leaseMs);
        });
    }, delayMs);
    node.leaseTimer.unref();
  }

  private async renewLease(node: HollowNode): Promise<void> {
    const leases = this.heartbeatClient.resource(LEASES, NODE_LEASE_NAMESPACE);
    const now = Date.now();
    try {
      await leases.patch(node.name, "merge", {
        spec: leaseObject({ metadata: { name: node.name } }, now).spec,
      });
    } catch (err) {
      if (!(isStatusError(err) && err.code === 404)) throw err;
      await leases.create(leaseObject({ metadata: { name: node.name, uid: node.uid } }, now));
    }
  }

  private armStatus(node: HollowNode, delayMs: number): void {
    node.statusTimer = setTimeout(() => {
      if (this.stopped) return;
      this.reportStatus(node)
        .catch((err: unknown) => this.log(`status of ${node.name}: ${(err as Error).message}`))
        .finally(() => {
          if (!this.stopped) this.armStatus(node, this.statusMs);
        });
    }, delayMs);
    node.statusTimer.unref();
  }

  /** Reports when another component changed the node's conditions, or when the report is due anyway. */
  private async reportStatus(node: HollowNode): Promise<void> {
    if (!node.heartbeats || node.slowStatus) return;
    const now = Date.now();
    const current = this.informers.forResource(NODES).lister.get("", node.name);
    const conditions: KubeObject[] = Array.isArray(current?.status?.conditions)
      ? current.status.conditions
      : [];
    const ready = conditions.find((c) => c?.type === "Ready");
    const changed = ready?.status !== "True";
    if (!changed && now - node.lastReport < this.reportMs) return;
    const since = changed ? now : Date.parse(ready?.lastTransitionTime ?? "") || now;
    await this.heartbeatClient
      .resource(NODES)
      .patch(
        node.name,
        "strategic",
        { status: { conditions: nodeConditions(now, since) } },
        { subresource: "status" },
      );
    node.lastReport = now;
  }

  private async reconcilePod(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    const { namespace, name } = splitKey(key);
    const pod = this.informers.forResource(PODS).lister.get(namespace, name);
    if (pod === undefined || this.stopped) return undefined;
    const node = this.byName.get(pod.spec?.nodeName ?? "");
    if (node === undefined || !node.heartbeats) return undefined;
    const pods = this.client.resource(PODS, namespace);
    const phase = pod.status?.phase;
    const finished = phase === "Succeeded" || phase === "Failed";
    const now = Date.now();
    try {
      if (pod.metadata?.deletionTimestamp) {
        if (!finished && !allContainersTerminated(pod))
          await pods.patch(
            name,
            "strategic",
            { status: terminatedStatus(pod, now) },
            { subresource: "status" },
          );
        await pods.delete(name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
        return undefined;
      }
      if (finished) return undefined;
      if (phase !== "Running" || !pod.status?.podIP) {
        const cidr = this.informers.forResource(NODES).lister.get("", node.name)?.spec?.podCIDR;
        const ip = podIP(cidr, node.index, node.podSeq++);
        await pods.patch(
          name,
          "strategic",
          { status: runningStatus(pod, nodeIP(node.index), ip, now) },
          { subresource: "status" },
        );
        return finishesOnItsOwn(pod) ? { requeueAfterMs: this.completionMs } : undefined;
      }
      if (!finishesOnItsOwn(pod)) return undefined;
      const due = (startTimeOf(pod) ?? now) + this.completionMs;
      if (now < due) return { requeueAfterMs: due - now };
      await pods.patch(name, "strategic", { status: succeededStatus(pod, now) }, { subresource: "status" });
      return undefined;
    } catch (err) {
      // The pod is gone (or changed identity): nothing left to run.
      if (isStatusError(err) && (err.code === 404 || (err.code === 409 && pod.metadata?.deletionTimestamp)))
        return undefined;
      throw err;
    }
  }

  /** Pods the informer holds on this node. */
  podsOn(node: string): KubeObject[] {
    return this.informers.forResource(PODS).lister.byIndex(NODE_NAME_INDEX, node);
  }

  private node(name: string): HollowNode {
    const node = this.byName.get(name);
    if (node === undefined) throw new Error(`${name} is not one of these hollow nodes`);
    return node;
  }

  /** The node goes silent: no Lease renewals, no status reports, its pods are left as they are. */
  stopHeartbeats(name: string): void {
    this.node(name).heartbeats = false;
  }

  resumeHeartbeats(name: string): void {
    const node = this.node(name);
    node.heartbeats = true;
    for (const pod of this.podsOn(name)) this.queue.add(objectKey(pod));
  }

  /** Status reports stop (or resume) while the Lease is still renewed: the "endpoints flapping" case. */
  slowStatus(name: string, slow = true): void {
    this.node(name).slowStatus = slow;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const node of this.byName.values()) {
      clearTimeout(node.leaseTimer);
      clearTimeout(node.statusTimer);
    }
    this.queue.shutdown();
    await this.workers;
    await this.informers.shutdown();
    this.client.close();
    this.heartbeatClient.close();
  }
}

export function startHollowNodes(opts: HollowOptions): Promise<HollowNodes> {
  return HollowNodes.start(opts);
}
