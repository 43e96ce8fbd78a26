// StoreServer: one etcd-compatible member. Writes go through the Raft log (RaftDriver) and
// answer once applied here; linearizable reads wait for a shared ReadIndex round and are then
// served from the local MVCC store; serializable reads are served at once. Quota, request size
// and lease expiry follow etcd 3.4. With --listen-peer-urls it runs a peer transport and is one
// member of a cluster: writes and reads work on any member (Raft forwards proposals and
// ReadIndex requests to the leader), lease keep-alives are forwarded to the leader, and members
// can be added, removed, updated, promoted, and leadership moved (cluster.ts).
import type { Registry } from "prom-client";
import {
  type RangeRequest,
  type TxnRequest,
  validateDeleteRange,
  validatePut,
  validateRange,
  validateTxn,
} from "../mvcc/index.js";
import type {
  CompactResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseId,
  PutRequest,
  PutResponse,
  TxnResponse,
} from "../mvcc/types.js";
import { Wal } from "../wal/index.js";
import { discoverCluster, joiningState, MEMBERS_METHOD, newClusterState } from "./bootstrap.js";
import { ClusterOps, PROMOTE_METHOD } from "./cluster.js";
import { ETCD_VERSION, type ResolvedOptions, resolveOptions, type StoreServerOptions } from "./config.js";
import { memberDirs, openDataDir } from "./disk.js";
import { RaftDriver } from "./driver.js";
import { StoreError, toStoreError } from "./errors.js";
import { LeaseService } from "./leases.js";
import { ServerMetrics } from "./metrics.js";
import { type ClusterPeers, startPeers } from "./peers.js";
import { isTxnSerializable, LEASE_OVERHEAD, putCost, txnCost, txnIsReadOnly } from "./requestinfo.js";
import type {
  AlarmMember,
  AlarmResult,
  CompactRequest,
  DeleteRangeResult,
  HashKVResult,
  KvService,
  LeaseGrantRequest,
  LeaseGrantResult,
  LeaseKeepAliveResult,
  LeaseLeasesResult,
  LeaseTimeToLiveResult,
  MemberAddResult,
  MemberListResult,
  PutResult,
  RangeResult,
  ResponseHeader,
  SnapshotStream,
  StatusResult,
  TxnResult,
  WatchCreateRequest,
  WatchEventSink,
  WatchHandle,
} from "./types.js";
import { WatchBridge } from "./watches.js";

const SNAPSHOT_CHUNK_BYTES = 64 * 1024;

/** Runs f, turning state-machine errors into StoreErrors. */
function local<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw toStoreError(err);
  }
}

export class StoreServer implements KvService {
  readonly registry: Registry;
  private readonly memberIdBig: bigint;
  private readonly leases: LeaseService;
  private readonly cluster: ClusterOps;
  private readonly watches: WatchBridge;
  private noSpaceRaised = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly opts: ResolvedOptions,
    private readonly driver: RaftDriver,
    private readonly metrics: ServerMetrics,
    private readonly peers: ClusterPeers | undefined,
  ) {
    this.registry = metrics.registry;
    this.memberIdBig = BigInt(driver.memberId);
    this.leases = new LeaseService(opts, driver, peers);
    this.cluster = new ClusterOps(opts, driver, peers);
    peers?.handle(MEMBERS_METHOD, async () => ({
      clusterId: driver.sm.clusterId,
      members: driver.sm.members,
    }));
    peers?.handle(PROMOTE_METHOD, (_from, arg) => this.cluster.promoteHere((arg as { id: bigint }).id));
    this.watches = new WatchBridge(driver.sm.store, opts.watchProgressNotifyIntervalMs);
    metrics.quotaBackendBytes.set(Math.max(0, opts.quotaBackendBytes));
    driver.onHousekeeping = () => this.housekeeping();
  }

  /**
   * Opens (or creates) the member in options.dataDir, replays its log and starts it. Resolves
   * once everything committed before the restart is applied and, for a sole member, once it
   * leads.
   */
  static async open(options: StoreServerOptions): Promise<StoreServer> {
    const opts = resolveOptions(options);
    const clustered = opts.listenPeerUrls.length > 0;
    if (opts.initialCluster.length > 1 && !clustered && opts.transport === undefined) {
      throw new Error("a multi-member --initial-cluster needs --listen-peer-urls");
    }
    const metrics = new ServerMetrics();
    // A member joining a running cluster learns its id and the cluster's from the others.
    const joining =
      opts.initialClusterState === "existing" && !(await Wal.exists(memberDirs(opts.dataDir).wal))
        ? await discoverCluster(opts)
        : undefined;
    const disk = await openDataDir(opts.dataDir, () =>
      joining ? joiningState(joining.info, joining.memberId) : newClusterState(opts),
    );
    const driver = new RaftDriver(opts, disk, metrics);
    const peers = clustered ? await startPeers(opts, disk.metadata, driver, metrics.registry) : undefined;
    const server = new StoreServer(opts, driver, metrics, peers);
    const committedAtStart = driver.committedIndex;
    driver.start();
    await driver.whenApplied(committedAtStart);
    // A sole member leads at once; one read round then waits for its first entry to apply.
    if (opts.initialCluster.length === 1 && !joining) await driver.linearizableRead().catch(() => undefined);
    if (peers) server.cluster.publish(() => server.closing !== undefined).catch(() => undefined);
    return server;
  }

  /** Called once if the server stops on an unrecoverable error (e.g. the disk failed). */
  set onFatal(handler: (err: unknown) => void) {
    this.driver.onFatal = handler;
  }

  get memberId(): bigint {
    return this.memberIdBig;
  }

  /** ReadIndex rounds issued so far; concurrent linearizable reads share one. */
  get readIndexRounds(): number {
    return this.driver.reads.rounds;
  }

  /** Where the Raft log and WAL stand (tests and tooling). */
  logState(): ReturnType<RaftDriver["snapshots"]["logState"]> {
    return this.driver.snapshots.logState();
  }

  /** Waits until a snapshot being saved in the background is on disk. */
  snapshotSettled(): Promise<void> {
    return this.driver.snapshots.settled();
  }

  header(): ResponseHeader {
    return this.headerAt(this.driver.sm.store.revision, this.driver.raftTerm);
  }

  hasLeader(): boolean {
    return this.driver.leaderId !== 0;
  }

  private headerAt(revision: number, raftTerm = this.driver.raftTerm): ResponseHeader {
    return { clusterId: this.driver.sm.clusterId, memberId: this.memberIdBig, revision, raftTerm };
  }

  private headed<T extends { revision: number }>(
    resp: T,
    raftTerm?: number,
  ): Omit<T, "revision"> & { header: ResponseHeader } {
    const { revision, ...rest } = resp;
    return { ...rest, header: this.headerAt(revision, raftTerm) };
  }

  // ---- KV ----

  async range(req: RangeRequest): Promise<RangeResult> {
    local(() => validateRange(req));
    if (!req.serializable) await this.driver.linearizableRead();
    return this.headed(local(() => this.driver.sm.store.range(req)));
  }

  async put(req: PutRequest): Promise<PutResult> {
    local(() => validatePut(req));
    this.checkQuota(putCost(req));
    const applied = await this.driver.propose<PutResponse>({ kind: "put", req });
    return this.headed(applied.value, applied.raftTerm);
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResult> {
    local(() => validateDeleteRange(req));
    const applied = await this.driver.propose<DeleteRangeResponse>({ kind: "deleteRange", req });
    return this.headed(applied.value, applied.raftTerm);
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    local(() => validateTxn(req, this.opts.maxTxnOps));
    if (txnIsReadOnly(req)) {
      if (!isTxnSerializable(req)) await this.driver.linearizableRead();
      return this.headed(local(() => this.driver.sm.store.txn(req)));
    }
    this.checkQuota(txnCost(req));
    const applied = await this.driver.propose<TxnResponse>({ kind: "txn", req });
    return this.headed(applied.value, applied.raftTerm);
  }

  async compact(req: CompactRequest): Promise<{ header: ResponseHeader }> {
    if (!Number.isSafeInteger(req.revision))
      throw new StoreError("BadRequest", `bad compaction revision ${req.revision}`);
    const applied = await this.driver.propose<CompactResponse>({
      kind: "compact",
      req: { revision: req.revision },
    });
    return { header: this.headerAt(applied.revision, applied.raftTerm) };
  }

  // ---- leases ----

  async leaseGrant(req: LeaseGrantRequest): Promise<LeaseGrantResult> {
    if (!Number.isSafeInteger(req.ttl)) throw new StoreError("BadRequest", `bad lease TTL ${req.ttl}`);
    this.checkQuota(LEASE_OVERHEAD);
    const applied = await this.leases.grant(req.ttl, req.id);
    return this.headed(applied.value, applied.raftTerm);
  }

  async leaseRevoke(id: LeaseId): Promise<{ header: ResponseHeader }> {
    const applied = await this.leases.revoke(id);
    return { header: this.headerAt(applied.value.revision, applied.raftTerm) };
  }

  async leaseKeepAlive(id: LeaseId): Promise<LeaseKeepAliveResult> {
    const ttl = await this.leases.keepAlive(id);
    return { header: this.header(), id, ttl };
  }

  async leaseTimeToLive(id: LeaseId, keys: boolean): Promise<LeaseTimeToLiveResult> {
    const r = await this.leases.timeToLive(id, keys);
    return { header: this.header(), id, ttl: r.ttl, grantedTtl: r.grantedTtl, keys: r.keys };
  }

  async leaseLeases(): Promise<LeaseLeasesResult> {
    await this.driver.linearizableRead();
    return { header: this.header(), leases: this.driver.sm.store.leaseIds() };
  }

  // ---- watch ----

  watch(req: WatchCreateRequest, sink: WatchEventSink): WatchHandle {
    return this.watches.watch(req, sink);
  }

  /** The current revision if every listed watcher is caught up, else undefined (etcd's progress-all). */
  watchProgress(ids: Iterable<number>): number | undefined {
    return this.watches.progress(ids);
  }

  // ---- cluster and maintenance ----

  async status(): Promise<StatusResult> {
    const size = this.driver.sm.store.size();
    return {
      header: this.header(),
      version: ETCD_VERSION,
      dbSize: size,
      dbSizeInUse: size,
      leader: BigInt(this.driver.leaderId),
      raftIndex: this.driver.committedIndex,
      raftTerm: this.driver.raftTerm,
      raftAppliedIndex: this.driver.appliedIndex,
      errors: this.driver.sm.alarms.map((a) => `memberID:${a.memberId} alarm:${a.alarm} `),
      isLearner: this.driver.isLearner,
    };
  }

  async memberList(): Promise<MemberListResult> {
    return { header: this.header(), members: this.cluster.members() };
  }

  async memberAdd(peerURLs: string[], isLearner: boolean): Promise<MemberAddResult> {
    const { member, members } = await this.cluster.add(peerURLs, isLearner);
    return { header: this.header(), member, members };
  }

  async memberRemove(id: bigint): Promise<MemberListResult> {
    return { header: this.header(), members: await this.cluster.remove(id) };
  }

  async memberUpdate(id: bigint, peerURLs: string[]): Promise<MemberListResult> {
    return { header: this.header(), members: await this.cluster.update(id, peerURLs) };
  }

  async memberPromote(id: bigint): Promise<MemberListResult> {
    return { header: this.header(), members: await this.cluster.promote(id) };
  }

  async moveLeader(transferee: bigint): Promise<{ header: ResponseHeader }> {
    await this.cluster.moveLeader(transferee);
    return { header: this.header() };
  }

  /**
   * Injects network faults on this member's peer links (Jepsen, tests): a spec as
   * TransportFaults.applyFaultSpec takes ("cut:2,3", "heal", "delay:2=100", "clear"), where
   * member names may stand for ids ("cut:n2,n3"). Throws FaultSpecError on a bad spec.
   */
  applyFaultSpec(spec: string): void {
    if (this.peers === undefined) throw new StoreError("BadRequest", "this member has no peer transport");
    this.peers.transport.applyFaultSpec(this.cluster.faultSpecWithIds(spec));
  }

  async hashKV(revision: number): Promise<HashKVResult> {
    const resp = local(() => this.driver.sm.store.hashKV(revision));
    return { header: this.headerAt(resp.revision), hash: resp.hash, compactRevision: resp.compactRevision };
  }

  async snapshot(): Promise<SnapshotStream> {
    const data = this.driver.sm.snapshotData();
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let o = 0; o < data.byteLength; o += SNAPSHOT_CHUNK_BYTES) {
        yield data.subarray(o, Math.min(o + SNAPSHOT_CHUNK_BYTES, data.byteLength));
      }
    }
    return { size: data.byteLength, chunks: chunks() };
  }

  async alarmList(): Promise<AlarmResult> {
    return { header: this.header(), alarms: this.driver.sm.alarms.map((a) => ({ ...a })) };
  }

  alarmActivate(alarm: AlarmMember): Promise<AlarmResult> {
    return this.alarm("activate", alarm);
  }

  alarmDeactivate(alarm: AlarmMember): Promise<AlarmResult> {
    return this.alarm("deactivate", alarm);
  }

  private async alarm(action: "activate" | "deactivate", a: AlarmMember): Promise<AlarmResult> {
    const applied = await this.driver.propose<AlarmMember[]>({
      kind: "alarm",
      req: { action, memberId: a.memberId, alarm: a.alarm },
    });
    if (action === "deactivate" && a.alarm === "NOSPACE") this.noSpaceRaised = false;
    return { header: this.headerAt(applied.revision, applied.raftTerm), alarms: applied.value };
  }

  /** The store lives in memory and never fragments: nothing to reclaim. */
  async defragment(): Promise<{ header: ResponseHeader }> {
    return { header: this.header() };
  }

  /** Stops serving: cancels watchers, fails waiting requests, syncs and closes the WAL. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.watches.close();
      await this.peers?.stop();
      await this.driver.close();
    })();
    return this.closing;
  }

  // ---- internals ----

  /**
   * etcd's quotaKVServer: a write that would take the store past the quota raises the NOSPACE
   * alarm (through the log) and fails. Once armed, the apply path refuses puts, txns with puts
   * and lease grants until the alarm is disarmed.
   */
  private checkQuota(cost: number): void {
    const quota = this.opts.quotaBackendBytes;
    if (quota <= 0 || this.driver.sm.store.size() + cost < quota) return;
    if (!this.noSpaceRaised && !this.driver.sm.hasAlarm("NOSPACE")) {
      this.noSpaceRaised = true;
      this.alarmActivate({ memberId: this.memberIdBig, alarm: "NOSPACE" }).then(
        () => this.opts.log(`store: database space exceeded (quota ${quota} bytes); NOSPACE alarm raised`),
        () => {
          this.noSpaceRaised = false;
        },
      );
    }
    throw new StoreError("NoSpace");
  }

  private housekeeping(): void {
    const size = this.driver.sm.store.size();
    this.metrics.dbTotalSize.set(size);
    this.metrics.dbTotalSizeInUse.set(size);
    this.watches.sync();
    this.leases.revokeExpired();
  }
}
