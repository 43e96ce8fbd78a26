// Applying one committed entry on behalf of the driver: a client request goes to the state
// machine and its result to the caller waiting on this member, if any (matched by the
// proposer's member id and request id carried in the entry, as etcd's wait.Wait); a
// membership ConfChange is validated, recorded and only then applied to Raft.
import { type ConfChange, ConfChangeType, type Entry, EntryType } from "../../raft/types.js";
import type { StateMachine } from "./apply.js";
import type { ProposalWaiters } from "./waiters.js";

export interface ApplyHost {
  readonly memberId: number;
  readonly sm: StateMachine;
  readonly waiters: ProposalWaiters;
  raftTerm(): number;
  /** Applies a validated ConfChange to Raft (and records the new ConfState). */
  applyToRaft(cc: ConfChange): void;
  /** This member was removed from the cluster. */
  onRemoved(): void;
}

export function applyEntry(host: ApplyHost, e: Entry): void {
  if (e.type === EntryType.ConfChange) applyConfChange(host, e);
  else if (e.data.byteLength > 0) applyNormal(host, e);
}

function resolved(host: ApplyHost, value: unknown) {
  return { value, revision: host.sm.store.revision, raftTerm: host.raftTerm() };
}

function applyNormal(host: ApplyHost, e: Entry): void {
  const { member, id, outcome } = host.sm.applyEntry(e.data);
  if (member !== host.memberId || !host.waiters.has(id)) return;
  if (outcome.ok) host.waiters.resolve(id, resolved(host, outcome.value));
  else host.waiters.reject(id, outcome.error);
}

function applyConfChange(host: ApplyHost, e: Entry): void {
  const { cc, ctx, error } = host.sm.applyConfChange(e.data);
  if (error === undefined) host.applyToRaft(cc);
  if (ctx.proposer === host.memberId && ctx.requestId !== undefined) {
    if (error !== undefined) host.waiters.reject(ctx.requestId, error);
    else host.waiters.resolve(ctx.requestId, resolved(host, host.sm.members));
  }
  if (error === undefined && cc.type === ConfChangeType.RemoveNode && cc.nodeId === host.memberId) {
    host.onRemoved();
  }
}
