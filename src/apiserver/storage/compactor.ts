// The apiserver's periodic compaction of etcd, as upstream's storage/etcd3/compact.go: every
// interval (upstream --etcd-compaction-interval, default 5 min) compact to the revision seen one
// interval earlier, so the store keeps about one interval of history instead of every revision
// ever written (which, at a few hundred writes per second, is gigabytes within the hour and makes
// every garbage collection slower). Several apiservers on one etcd agree through a Txn on the
// version of the key "compact_rev_key": only the one whose Txn succeeds compacts in that round.
import type { EtcdKv } from "./etcd-client.js";

export const COMPACT_REV_KEY = "compact_rev_key";
export const DEFAULT_COMPACTION_INTERVAL_MS = 5 * 60_000;

export interface CompactorState {
  /** The version of compact_rev_key this apiserver last saw (upstream's compactTime). */
  version: number;
  /** The store revision seen in the last round: what the next round compacts to. */
  revision: number;
}

/**
 * One round: claims the round by bumping compact_rev_key (when its version is still `state.version`)
 * and, if it won and a revision was seen in the previous round, compacts to that revision. Returns
 * the state for the next round; never throws for a lost race or an already compacted revision.
 */
export async function compactRound(client: EtcdKv, state: CompactorState): Promise<CompactorState> {
  const key = Buffer.from(COMPACT_REV_KEY);
  const resp = await client.txn({
    compare: [{ key, result: 0, target: 0, version: String(state.version) }],
    success: [{ request_put: { key, value: Buffer.alloc(0) } }],
    failure: [{ request_range: { key } }],
  });
  const revision = Number(resp.header.revision);
  if (!resp.succeeded) {
    // Another apiserver compacted this round; follow its count.
    const kv = resp.responses[0]?.response_range?.kvs[0];
    return { version: Number(kv?.version ?? 0), revision };
  }
  if (state.revision > 0) {
    await client.compact(state.revision).catch((err: unknown) => {
      if (!/compacted/.test(String((err as Error)?.message))) throw err;
    });
  }
  return { version: state.version + 1, revision };
}

/** Runs compactRound every intervalMs until stopped; failures are logged and retried next round. */
export class Compactor {
  private state: CompactorState = { version: 0, revision: 0 };
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: EtcdKv,
    intervalMs: number,
    private readonly log: (message: string) => void = () => {},
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.running) return;
    this.running = compactRound(this.client, this.state)
      .then(
        (next) => {
          this.state = next;
        },
        (err: unknown) => this.log(`etcd compaction: ${(err as Error)?.message ?? String(err)}`),
      )
      .finally(() => {
        this.running = undefined;
      });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
