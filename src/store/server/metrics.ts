// Prometheus metrics under etcd's names, so dashboards and alerts written for etcd read kite
// unchanged. Each server owns its own registry (tests run several servers in one process).
import { Counter, exponentialBuckets, Gauge, Histogram, Registry } from "prom-client";

export class ServerMetrics {
  readonly registry = new Registry();
  readonly hasLeader: Gauge;
  readonly isLeader: Gauge;
  readonly leaderChanges: Counter;
  readonly proposalsCommitted: Gauge;
  readonly proposalsApplied: Gauge;
  readonly proposalsPending: Gauge;
  readonly proposalsFailed: Counter;
  readonly dbTotalSize: Gauge;
  readonly dbTotalSizeInUse: Gauge;
  readonly quotaBackendBytes: Gauge;
  readonly walFsyncDuration: Histogram;
  readonly backendCommitDuration: Histogram;
  readonly snapshotSaveDuration: Histogram;
  readonly readIndexRounds: Counter;

  constructor() {
    const registers = [this.registry];
    this.hasLeader = new Gauge({
      name: "etcd_server_has_leader",
      help: "Whether or not a leader exists. 1 is existence, 0 is not.",
      registers,
    });
    this.isLeader = new Gauge({
      name: "etcd_server_is_leader",
      help: "Whether or not this member is a leader. 1 if is, 0 otherwise.",
      registers,
    });
    this.leaderChanges = new Counter({
      name: "etcd_server_leader_changes_seen_total",
      help: "The number of leader changes seen.",
      registers,
    });
    this.proposalsCommitted = new Gauge({
      name: "etcd_server_proposals_committed_total",
      help: "The total number of consensus proposals committed.",
      registers,
    });
    this.proposalsApplied = new Gauge({
      name: "etcd_server_proposals_applied_total",
      help: "The total number of consensus proposals applied.",
      registers,
    });
    this.proposalsPending = new Gauge({
      name: "etcd_server_proposals_pending",
      help: "The current number of pending proposals to commit.",
      registers,
    });
    this.proposalsFailed = new Counter({
      name: "etcd_server_proposals_failed_total",
      help: "The total number of failed proposals seen.",
      registers,
    });
    this.dbTotalSize = new Gauge({
      name: "etcd_mvcc_db_total_size_in_bytes",
      help: "Total size of the underlying database physically allocated in bytes.",
      registers,
    });
    this.dbTotalSizeInUse = new Gauge({
      name: "etcd_mvcc_db_total_size_in_use_in_bytes",
      help: "Total size of the underlying database logically in use in bytes.",
      registers,
    });
    this.quotaBackendBytes = new Gauge({
      name: "etcd_server_quota_backend_bytes",
      help: "Current backend storage quota size in bytes.",
      registers,
    });
    this.walFsyncDuration = new Histogram({
      name: "etcd_disk_wal_fsync_duration_seconds",
      help: "The latency distributions of fsync called by WAL.",
      buckets: exponentialBuckets(0.001, 2, 14),
      registers,
    });
    this.backendCommitDuration = new Histogram({
      name: "etcd_disk_backend_commit_duration_seconds",
      help: "The latency distributions of commit called by backend.",
      buckets: exponentialBuckets(0.001, 2, 14),
      registers,
    });
    this.snapshotSaveDuration = new Histogram({
      name: "etcd_debugging_snap_save_total_duration_seconds",
      help: "The total latency distributions of save called by snapshot.",
      buckets: exponentialBuckets(0.001, 2, 14),
      registers,
    });
    this.readIndexRounds = new Counter({
      name: "kite_server_read_index_rounds_total",
      help: "ReadIndex rounds issued for linearizable reads (concurrent reads share one).",
      registers,
    });
  }
}
