// Raft's safety properties, checked as the simulation runs. Each observe* call feeds one
// event (a leader seen, entries persisted, a commit index seen, an entry applied); the check*
// calls sweep the whole cluster after every step. A violation throws SafetyViolation naming
// the rule, node, index and term; the simulator adds the seed and step.
import type { ConfState, Entry, NodeId } from "../../src/raft/index.js";
import { describeConf, entryDigest } from "./statemachine.js";

/** A node's durable log as the checker reads it. */
export interface LogView {
  readonly id: NodeId;
  /** Bumped whenever the log changes, so unchanged logs are not compared again. */
  readonly logVersion: number;
  snapshotIndex(): number;
  lastIndex(): number;
  /** Term of the entry at i, the snapshot's term at its index, undefined where unknown. */
  termAt(i: number): number | undefined;
}

export type Rule =
  | "election-safety"
  | "log-matching"
  | "leader-completeness"
  | "state-machine-safety"
  | "commit-agreement"
  | "leader-commit-term"
  | "committed-entry-durability"
  | "read-linearizability"
  | "apply-order"
  | "liveness";

export class SafetyViolation extends Error {
  constructor(
    readonly rule: Rule,
    detail: string,
  ) {
    super(`${rule} violated: ${detail}`);
    this.name = "SafetyViolation";
  }
}

interface CommittedEntry {
  term: number;
  /** The lowest term of any node seen holding this index as committed: it was committed in or before that term. */
  commitTerm: number;
  seenBy: NodeId;
}

interface AppendedEntry {
  digest: number;
  prevTerm: number | undefined;
  node: NodeId;
}

interface AppliedEntry {
  term: number;
  digest: number;
  chain: number;
  node: NodeId;
}

export class SafetyChecker {
  private leaderOfTerm = new Map<number, NodeId>();
  private appended = new Map<string, AppendedEntry>();
  private committed = new Map<number, CommittedEntry>();
  private applied = new Map<number, AppliedEntry>();
  /** Configurations by the index of the entry that produced them, oldest first. */
  private confs: { index: number; conf: ConfState }[] = [];
  private pairVersions = new Map<string, string>();
  maxCommitted = 0;

  constructor(initialConf: ConfState, initialIndex: number) {
    this.confs.push({ index: initialIndex, conf: initialConf });
  }

  observeLeader(node: NodeId, term: number): void {
    const other = this.leaderOfTerm.get(term);
    if (other === undefined) this.leaderOfTerm.set(term, node);
    else if (other !== node) {
      throw new SafetyViolation(
        "election-safety",
        `nodes ${other} and ${node} were both leader in term ${term}`,
      );
    }
  }

  leaders(): ReadonlyMap<number, NodeId> {
    return this.leaderOfTerm;
  }

  /** Entries just persisted by `log`'s node: equal (index, term) must mean equal entry and equal predecessor. */
  observeAppend(log: LogView, entries: readonly Entry[]): void {
    for (const e of entries) {
      const key = `${e.index}/${e.term}`;
      const rec: AppendedEntry = { digest: entryDigest(e), prevTerm: log.termAt(e.index - 1), node: log.id };
      const seen = this.appended.get(key);
      if (seen === undefined) {
        this.appended.set(key, rec);
        continue;
      }
      if (seen.digest !== rec.digest) {
        throw new SafetyViolation(
          "log-matching",
          `index ${e.index} term ${e.term} holds different entries on node ${seen.node} and node ${log.id}`,
        );
      }
      if (seen.prevTerm !== undefined && rec.prevTerm !== undefined && seen.prevTerm !== rec.prevTerm) {
        throw new SafetyViolation(
          "log-matching",
          `index ${e.index} term ${e.term} follows term ${seen.prevTerm} on node ${seen.node} but term ${rec.prevTerm} on node ${log.id}`,
        );
      }
    }
  }

  /**
   * The node's commit index moved from `from` to `to` while it was in `nodeTerm`. A leader
   * may only commit by counting replicas of an entry of its own term (Raft §5.4.2).
   */
  observeCommit(log: LogView, from: number, to: number, nodeTerm: number, asLeader = false): void {
    if (asLeader && log.termAt(to) !== nodeTerm) {
      throw new SafetyViolation(
        "leader-commit-term",
        `leader ${log.id} of term ${nodeTerm} advanced its commit index to ${to}, an entry of term ${log.termAt(to)}`,
      );
    }
    if (to > log.lastIndex()) {
      throw new SafetyViolation(
        "commit-agreement",
        `node ${log.id} commit index ${to} is past its last index ${log.lastIndex()} (term ${nodeTerm})`,
      );
    }
    for (let i = Math.max(from + 1, log.snapshotIndex()); i <= to; i++) {
      const term = log.termAt(i);
      if (term === undefined) continue;
      const seen = this.committed.get(i);
      if (seen === undefined) {
        this.committed.set(i, { term, commitTerm: nodeTerm, seenBy: log.id });
      } else if (seen.term !== term) {
        throw new SafetyViolation(
          "commit-agreement",
          `index ${i} committed with term ${seen.term} on node ${seen.seenBy} but with term ${term} on node ${log.id}`,
        );
      } else if (nodeTerm < seen.commitTerm) {
        seen.commitTerm = nodeTerm;
      }
    }
    if (to > this.maxCommitted) this.maxCommitted = to;
  }

  /** Node applied `e`, its state machine having been at `appliedBefore`; `chain` is its hash after. */
  observeApply(node: NodeId, e: Entry, appliedBefore: number, commit: number, chain: number): void {
    if (e.index !== appliedBefore + 1) {
      throw new SafetyViolation(
        "apply-order",
        `node ${node} applied index ${e.index} (term ${e.term}) right after index ${appliedBefore}`,
      );
    }
    if (e.index > commit) {
      throw new SafetyViolation(
        "apply-order",
        `node ${node} applied index ${e.index} (term ${e.term}) beyond its commit index ${commit}`,
      );
    }
    const rec: AppliedEntry = { term: e.term, digest: entryDigest(e), chain, node };
    const seen = this.applied.get(e.index);
    if (seen === undefined) {
      this.applied.set(e.index, rec);
      return;
    }
    if (seen.term !== rec.term || seen.digest !== rec.digest) {
      throw new SafetyViolation(
        "state-machine-safety",
        `node ${seen.node} applied term ${seen.term} at index ${e.index} but node ${node} applied term ${e.term} (digests ${seen.digest} vs ${rec.digest})`,
      );
    }
    if (seen.chain !== chain) {
      throw new SafetyViolation(
        "state-machine-safety",
        `nodes ${seen.node} and ${node} reached different states at index ${e.index} (term ${e.term})`,
      );
    }
  }

  /** A node installed a snapshot: its image must be the state other nodes reached at that index. */
  observeSnapshot(node: NodeId, index: number, term: number, chain: number): void {
    const committed = this.committed.get(index);
    if (committed !== undefined && committed.term !== term) {
      throw new SafetyViolation(
        "commit-agreement",
        `node ${node} installed a snapshot at index ${index} term ${term} but term ${committed.term} was committed there`,
      );
    }
    const seen = this.applied.get(index);
    if (seen !== undefined && seen.chain !== chain) {
      throw new SafetyViolation(
        "state-machine-safety",
        `node ${node} installed a snapshot at index ${index} whose state differs from what node ${seen.node} applied`,
      );
    }
  }

  /** A ConfChange at `index` produced `conf` (reported by every node that applies it). */
  observeConf(index: number, conf: ConfState): void {
    // Changes arrive in index order (a snapshot only ever comes from a node that applied all
    // before it), then again from each lagging node; the list is kept sorted regardless.
    let at = this.confs.length;
    while (at > 0 && this.confs[at - 1]!.index > index) at--;
    const prev = this.confs[at - 1];
    if (prev?.index !== index) {
      this.confs.splice(at, 0, { index, conf });
    } else if (describeConf(prev.conf) !== describeConf(conf)) {
      throw new SafetyViolation(
        "state-machine-safety",
        `the conf change at index ${index} gave ${describeConf(prev.conf)} on one node and ${describeConf(conf)} on another`,
      );
    }
  }

  /** The configuration produced by the newest applied conf change. */
  latestConf(): ConfState {
    return this.confs[this.confs.length - 1]!.conf;
  }

  /** Every entry committed in a term below the leader's term must be in the leader's log. */
  checkLeaderCompleteness(log: LogView, leaderTerm: number): void {
    for (let i = log.snapshotIndex() + 1; i <= this.maxCommitted; i++) {
      const c = this.committed.get(i);
      if (c === undefined || c.commitTerm >= leaderTerm) continue;
      const term = log.termAt(i);
      if (term !== c.term) {
        throw new SafetyViolation(
          "leader-completeness",
          `leader ${log.id} of term ${leaderTerm} has ${term === undefined ? "no entry" : `term ${term}`} at index ${i}, where term ${c.term} was committed (by term ${c.commitTerm})`,
        );
      }
    }
  }

  /**
   * Every committed entry must survive on enough durable logs (or snapshots) that no quorum of
   * the current or previous configuration lacks it; otherwise that quorum could elect a leader
   * without it. Single-server changes keep adjacent configurations' quorums overlapping.
   */
  checkDurability(logs: readonly LogView[]): void {
    // `logs` are the members still running or able to restart; absent voters were removed.
    if (this.maxCommitted === 0) return;
    const byId = new Map(logs.map((l) => [l.id, l]));
    for (const { conf, index } of this.confs.slice(-2)) {
      const held: number[] = conf.voters.map((v) => {
        const log = byId.get(v);
        // A removed member that shut down can never vote again, so it cannot join a quorum
        // that lacks the entry.
        return log === undefined ? Number.POSITIVE_INFINITY : this.committedPrefix(log);
      });
      held.sort((a, b) => b - a);
      const quorum = Math.floor(conf.voters.length / 2) + 1;
      // An entry is safe while fewer than a quorum of voters lack it, i.e. at least
      // (voters - quorum + 1) hold it.
      const safeUpTo = held[conf.voters.length - quorum]!;
      if (safeUpTo < this.maxCommitted) {
        const lost = safeUpTo + 1;
        throw new SafetyViolation(
          "committed-entry-durability",
          `index ${lost} (term ${this.committed.get(lost)?.term ?? "?"}) is committed but a quorum of the configuration from index ${index} (${describeConf(conf)}) lacks it in durable storage; committed prefixes held: ${held.join(",")}`,
        );
      }
    }
  }

  /** How far the log agrees with every recorded committed entry, counting its snapshot. */
  private committedPrefix(log: LogView): number {
    let i = log.snapshotIndex();
    const last = Math.min(log.lastIndex(), this.maxCommitted);
    while (i < last) {
      const c = this.committed.get(i + 1);
      if (c !== undefined && log.termAt(i + 1) !== c.term) break;
      i++;
    }
    return i;
  }

  /** Log matching over whole logs: where two logs agree on a term they agree on all before it. */
  checkLogMatching(logs: readonly LogView[]): void {
    for (let x = 0; x < logs.length; x++) {
      for (let y = x + 1; y < logs.length; y++) {
        const a = logs[x]!;
        const b = logs[y]!;
        const key = `${a.id}/${b.id}`;
        const version = `${a.logVersion}/${b.logVersion}`;
        if (this.pairVersions.get(key) === version) continue;
        this.pairVersions.set(key, version);
        comparePair(a, b);
      }
    }
  }

  checkRead(node: NodeId, readIndex: number, committedWhenIssued: number): void {
    if (readIndex < committedWhenIssued) {
      throw new SafetyViolation(
        "read-linearizability",
        `node ${node} got read index ${readIndex}, but index ${committedWhenIssued} was already committed when the read was issued`,
      );
    }
  }
}

function comparePair(a: LogView, b: LogView): void {
  const lo = Math.max(a.snapshotIndex(), b.snapshotIndex());
  let i = Math.min(a.lastIndex(), b.lastIndex());
  while (i > lo && a.termAt(i) !== b.termAt(i)) i--;
  const match = i;
  for (; i > lo; i--) {
    const ta = a.termAt(i);
    const tb = b.termAt(i);
    if (ta !== tb) {
      throw new SafetyViolation(
        "log-matching",
        `nodes ${a.id} and ${b.id} agree on term ${a.termAt(match)} at index ${match} but differ at index ${i} (terms ${ta} vs ${tb})`,
      );
    }
  }
}
