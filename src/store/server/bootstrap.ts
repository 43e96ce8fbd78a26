// What a member's data directory starts from when it does not exist yet (etcd's bootstrap).
// A member of a new cluster (--initial-cluster-state new) derives every member id and the
// cluster id from --initial-cluster and the token, so all initial members write the same
// snapshot at index 1, term 1. A member joining a running cluster (--initial-cluster-state
// existing, after `member add`) asks the other members listed in --initial-cluster for the
// cluster id and member list (etcd's GetClusterFromRemotePeers), finds its own id by its peer
// URLs, and starts from an empty image at index 1, term 0: no real entry has term 0, so the
// leader's first append is refused and it sends its snapshot instead, which replaces the image.
import type { Snapshot } from "../../raft/types.js";
import { type PeerReply, peerRequest } from "../transport/index.js";
import { initialSnapshotData } from "./apply.js";
import type { ResolvedOptions } from "./config.js";
import type { WalMetadata } from "./disk.js";
import { clusterIdFor, memberIdFor } from "./ids.js";
import { fromJsonBytes } from "./requestcodec.js";
import type { MemberRecord } from "./snapshotdata.js";

/** The peer request a joining member sends; the answer is {ok: ClusterInfo} as JSON (peers.ts). */
export const MEMBERS_METHOD = "members";

export interface ClusterInfo {
  clusterId: bigint;
  members: MemberRecord[];
}

export interface InitialState {
  metadata: WalMetadata;
  snapshot: Snapshot;
}

/** The state every initial member of a new cluster starts from. */
export function newClusterState(opts: ResolvedOptions): InitialState {
  const token = opts.initialClusterToken;
  const members: MemberRecord[] = opts.initialCluster.map((m) => ({
    id: memberIdFor(m.peerURLs, token),
    name: m.name,
    peerURLs: m.peerURLs,
    isLearner: false,
  }));
  const ids = members.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new Error("--initial-cluster lists the same peer URLs twice");
  const clusterId = clusterIdFor(ids);
  const self = members.find((m) => m.name === opts.name)!;
  return {
    metadata: { memberId: self.id, clusterId },
    snapshot: {
      metadata: { index: 1, term: 1, confState: { voters: [...ids].sort((a, b) => a - b), learners: [] } },
      data: initialSnapshotData(clusterId, members, {}),
    },
  };
}

/** The placeholder a joining member starts from (see the file header). */
export function joiningState(info: ClusterInfo, memberId: number): InitialState {
  return {
    metadata: { memberId, clusterId: info.clusterId },
    snapshot: {
      metadata: { index: 1, term: 0, confState: { voters: [], learners: [] } },
      data: initialSnapshotData(info.clusterId, info.members, {}),
    },
  };
}

function samePeerUrls(a: string[], b: string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((u, i) => u === y[i]);
}

/**
 * Asks the other members of --initial-cluster for the running cluster, trying each peer URL
 * in turn until one answers or deadlineMs passes, and finds this member in it.
 */
export async function discoverCluster(
  opts: ResolvedOptions,
  deadlineMs = 10_000,
): Promise<{ info: ClusterInfo; memberId: number }> {
  const self = opts.initialCluster.find((m) => m.name === opts.name)!;
  const urls = opts.initialCluster.filter((m) => m.name !== opts.name).flatMap((m) => m.peerURLs);
  if (urls.length === 0) {
    throw new Error("--initial-cluster-state=existing needs the running members in --initial-cluster");
  }
  const until = Date.now() + deadlineMs;
  const failures: string[] = [];
  for (let round = 0; Date.now() < until; round++) {
    for (const url of urls) {
      let reply: PeerReply;
      try {
        reply = await peerRequest({
          url,
          clusterId: 0n,
          from: 0,
          to: 0,
          method: MEMBERS_METHOD,
          body: new Uint8Array(0),
          timeoutMs: Math.max(100, Math.min(2000, until - Date.now())),
        });
      } catch (err) {
        failures.push((err as Error).message);
        continue;
      }
      const answer = fromJsonBytes(reply.body) as { ok?: ClusterInfo; err?: { message: string } };
      if (answer.ok === undefined) {
        failures.push(`${url}: ${answer.err?.message ?? "no cluster info"}`);
        continue;
      }
      const info = answer.ok;
      const me = info.members.find((m) => samePeerUrls(m.peerURLs, self.peerURLs));
      // A member that has not applied the `member add` yet does not list us: ask again.
      if (me !== undefined) return { info, memberId: me.id };
      failures.push(
        `${url}: this member's peer URLs (${self.peerURLs.join(",")}) are not in cluster ` +
          `0x${info.clusterId.toString(16)}; add it first (etcdctl member add)`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(200 * (round + 1), 1000)));
  }
  throw new Error(`cannot fetch cluster info from peer urls: ${failures.slice(-urls.length).join("; ")}`);
}
