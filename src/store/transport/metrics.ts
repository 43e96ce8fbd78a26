// Peer network metrics under etcd's names and labels (member ids as lower-case hex, as etcd's
// types.ID prints them), registered in the registry the server passes in. A metric already in
// that registry (a transport restarted in the same process) is reused rather than re-registered.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { NodeId } from "../../raft/types.js";

export function memberLabel(id: NodeId): string {
  return id.toString(16);
}

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[]): Gauge {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

export class TransportMetrics {
  private readonly local: string;
  private readonly sentBytes: Counter;
  private readonly receivedBytes: Counter;
  private readonly sentFailures: Counter;
  private readonly receivedFailures: Counter;
  private readonly activePeers: Gauge;
  private readonly disconnectedPeers: Counter;
  private readonly snapshotSendSuccess: Counter;
  private readonly snapshotSendFailures: Counter;
  private readonly roundTripTime: Histogram;

  constructor(registry: Registry, localId: NodeId) {
    this.local = memberLabel(localId);
    this.sentBytes = counter(
      registry,
      "etcd_network_peer_sent_bytes_total",
      "The total number of bytes sent to peers.",
      ["To"],
    );
    this.receivedBytes = counter(
      registry,
      "etcd_network_peer_received_bytes_total",
      "The total number of bytes received from peers.",
      ["From"],
    );
    this.sentFailures = counter(
      registry,
      "etcd_network_peer_sent_failures_total",
      "The total number of send failures from peers.",
      ["To"],
    );
    this.receivedFailures = counter(
      registry,
      "etcd_network_peer_received_failures_total",
      "The total number of receive failures from peers.",
      ["From"],
    );
    this.activePeers = gauge(
      registry,
      "etcd_network_active_peers",
      "The current number of active peer connections.",
      ["Local", "Remote"],
    );
    this.disconnectedPeers = counter(
      registry,
      "etcd_network_disconnected_peers_total",
      "The total number of disconnected peers.",
      ["Local", "Remote"],
    );
    this.snapshotSendSuccess = counter(
      registry,
      "etcd_network_snapshot_send_success",
      "Total number of successful snapshot sends",
      ["To"],
    );
    this.snapshotSendFailures = counter(
      registry,
      "etcd_network_snapshot_send_failures",
      "Total number of snapshot send failures",
      ["To"],
    );
    const rtt = registry.getSingleMetric("etcd_network_peer_round_trip_time_seconds");
    this.roundTripTime =
      (rtt as Histogram | undefined) ??
      new Histogram({
        name: "etcd_network_peer_round_trip_time_seconds",
        help: "Round-Trip-Time histogram between peers",
        labelNames: ["To"],
        buckets: [
          0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.0256, 0.0512, 0.1024, 0.2048,
          0.4096, 0.8192,
        ],
        registers: [registry],
      });
  }

  sent(to: NodeId, bytes: number): void {
    this.sentBytes.inc({ To: memberLabel(to) }, bytes);
  }

  received(from: NodeId, bytes: number): void {
    this.receivedBytes.inc({ From: memberLabel(from) }, bytes);
  }

  sendFailed(to: NodeId, count = 1): void {
    this.sentFailures.inc({ To: memberLabel(to) }, count);
  }

  receiveFailed(from: NodeId): void {
    this.receivedFailures.inc({ From: memberLabel(from) });
  }

  connected(remote: NodeId): void {
    this.activePeers.set({ Local: this.local, Remote: memberLabel(remote) }, 1);
  }

  disconnected(remote: NodeId): void {
    this.activePeers.set({ Local: this.local, Remote: memberLabel(remote) }, 0);
    this.disconnectedPeers.inc({ Local: this.local, Remote: memberLabel(remote) });
  }

  snapshotSent(to: NodeId, ok: boolean): void {
    (ok ? this.snapshotSendSuccess : this.snapshotSendFailures).inc({ To: memberLabel(to) });
  }

  roundTrip(to: NodeId, seconds: number): void {
    this.roundTripTime.observe({ To: memberLabel(to) }, seconds);
  }

  /** Drops a removed peer's gauge so it no longer reports as a connection. */
  forget(remote: NodeId): void {
    this.activePeers.remove({ Local: this.local, Remote: memberLabel(remote) });
  }
}
