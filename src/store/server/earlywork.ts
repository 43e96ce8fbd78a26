// Which parts of a Ready the driver may act on before that Ready's WAL write finishes.
//
// Messages. A leader sends its MsgApp and heartbeats while it persists the same entries itself
// (Raft thesis §10.2.1, as etcd's leader does), so its fdatasync overlaps the followers' instead
// of preceding them. That is safe because:
//  1. Only MsgApp and MsgHeartbeat go early, plus forwarded proposals and read requests (MsgProp,
//     MsgReadIndex), which say nothing about this member's state. Votes, vote answers and every
//     MsgAppResp still wait: they promise that something is on disk.
//  2. Nothing goes early from a Ready with a new term or vote (or a snapshot). Entries of term T
//     leave early only once T and the vote for it are on disk, so a crash before the write
//     cannot let this member lead term T again and put a different entry at the same index.
//  3. No early message carries a commit index above the last index on this member's disk. Raft
//     counts the leader's own copy toward the quorum when it appends (raft.ts appendEntries),
//     before the copy is on disk, so a commit index is only known true up to the durable
//     index. With other voters, committing an entry also needs a follower's answer to the
//     MsgApp carrying it, which leaves with this Ready and is handled by a Ready built after
//     this one's write (one Ready at a time); so the leader's own vote for an entry counts
//     only once its copy is durable, as in etcd-io/raft. A sole voter commits its own new
//     entries at once: those messages (to learners) fail the check and wait.
// A follower may thus hold entries the leader loses in a crash: uncommitted entries, which Raft
// already handles (a new leader commits or overwrites them). Early and late messages may
// reach a peer out of order; Raft does not rely on ordered delivery.
//
// Committed entries. An entry already on this member's disk (from an earlier Ready) that Raft
// reports committed may be applied, and its proposer answered, before this Ready's write: it
// is durable on a quorum that counts this member only for what this member has on disk.
// Entries that arrive in this Ready are applied after the write, as before.
import { type HardState, type Message, MessageType, type Ready } from "../../raft/types.js";

export interface EarlyWork {
  /** Messages that may leave before the WAL write; the rest wait for it (order kept in each). */
  early: Message[];
  late: Message[];
  /** How many of rd.committedEntries, from the front, may be applied before the WAL write. */
  applyEarly: number;
}

/**
 * Splits rd into what may go ahead of its WAL write. storedLastIndex is the last index this
 * member has on disk; persisted is the hard state on disk.
 */
export function planEarlyWork(rd: Ready, storedLastIndex: number, persisted: HardState): EarlyWork {
  // An entry this Ready replaces is no longer what the disk will hold.
  const first = rd.entries[0];
  const durable = first === undefined ? storedLastIndex : Math.min(storedLastIndex, first.index - 1);
  const hs = rd.hardState;
  const newTermOrVote = hs !== undefined && (hs.term !== persisted.term || hs.vote !== persisted.vote);
  const work: EarlyWork = { early: [], late: [], applyEarly: 0 };
  for (const m of rd.messages) {
    if (mayLeaveEarly(m, durable, newTermOrVote || rd.snapshot !== undefined)) work.early.push(m);
    else work.late.push(m);
  }
  if (rd.snapshot === undefined) {
    const committed = rd.committedEntries;
    while (work.applyEarly < committed.length && committed[work.applyEarly]!.index <= durable)
      work.applyEarly++;
  }
  return work;
}

function mayLeaveEarly(m: Message, durable: number, unsettledState: boolean): boolean {
  // A forwarded proposal or read request says nothing about this member's state.
  if (m.type === MessageType.Prop || m.type === MessageType.ReadIndex) return true;
  if (m.type !== MessageType.App && m.type !== MessageType.Heartbeat) return false;
  return !unsettledState && m.commit <= durable;
}
