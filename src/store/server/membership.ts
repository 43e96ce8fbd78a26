// Cluster membership as replicated state (etcd's RaftCluster): every member applies the same
// membership changes in log order and reaches the same member list. Voting changes travel as
// Raft ConfChanges whose context is the member as JSON ({id, name, peerURLs, clientURLs,
// isLearner}, plus isPromote and the proposer's request id); URL updates and the attributes a
// member publishes once it runs (name, client URLs) are ordinary log entries, since they do
// not change the Raft configuration. Validation mirrors etcd's ValidateConfigurationChange and
// happens at apply time, so every member decides alike.
import { type ConfChange, ConfChangeType } from "../../raft/types.js";
import { StoreError, type StoreErrorCode } from "./errors.js";
import { fromJsonBytes, toJsonBytes } from "./requestcodec.js";
import type { MemberRecord, ServerState } from "./snapshotdata.js";

/** etcd 3.4's maxLearners. */
export const MAX_LEARNERS = 1;

/** What a membership ConfChange carries in its context. */
export interface MemberChangeContext {
  id: number;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
  /** AddNode for an existing learner: promote it (etcd's ConfigChangeContext.IsPromote). */
  isPromote?: boolean;
  /** The proposing member and its request id, to answer the waiting caller. */
  proposer?: number;
  requestId?: number;
}

export function encodeMemberContext(ctx: MemberChangeContext): Uint8Array {
  return toJsonBytes(ctx);
}

/** Lenient: older entries carried only {name, peerURLs}; the id defaults to the ConfChange's. */
export function decodeMemberContext(cc: ConfChange): MemberChangeContext {
  const raw =
    cc.context && cc.context.byteLength > 0
      ? (fromJsonBytes(cc.context) as Partial<MemberChangeContext>)
      : {};
  return {
    id: typeof raw.id === "number" ? raw.id : cc.nodeId,
    name: typeof raw.name === "string" ? raw.name : "",
    peerURLs: Array.isArray(raw.peerURLs) ? raw.peerURLs.map(String) : [],
    clientURLs: Array.isArray(raw.clientURLs) ? raw.clientURLs.map(String) : [],
    isLearner: raw.isLearner === true,
    ...(raw.isPromote === true ? { isPromote: true } : {}),
    ...(typeof raw.proposer === "number" ? { proposer: raw.proposer } : {}),
    ...(typeof raw.requestId === "number" ? { requestId: raw.requestId } : {}),
  };
}

function urlsInUse(members: readonly MemberRecord[], except?: number): Set<string> {
  const urls = new Set<string>();
  for (const m of members) if (m.id !== except) for (const u of m.peerURLs) urls.add(u);
  return urls;
}

/** The error a ConfChange must fail with, or undefined when it may be applied. */
export function validateConfChange(
  state: ServerState,
  cc: ConfChange,
  ctx: MemberChangeContext,
): StoreErrorCode | undefined {
  if (state.removed?.includes(cc.nodeId)) return "MemberNotFound";
  const current = state.members.find((m) => m.id === cc.nodeId);
  switch (cc.type) {
    case ConfChangeType.AddNode:
    case ConfChangeType.AddLearnerNode: {
      if (ctx.isPromote) {
        if (current === undefined) return "MemberNotFound";
        return current.isLearner ? undefined : "MemberNotLearner";
      }
      if (current !== undefined) return "MemberExist";
      const inUse = urlsInUse(state.members);
      if (ctx.peerURLs.some((u) => inUse.has(u))) return "PeerURLExist";
      if (cc.type === ConfChangeType.AddLearnerNode) {
        const learners = state.members.filter((m) => m.isLearner).length;
        if (learners + 1 > MAX_LEARNERS) return "TooManyLearners";
      }
      return undefined;
    }
    case ConfChangeType.RemoveNode:
      return current === undefined ? "MemberNotFound" : undefined;
    default:
      return "BadRequest";
  }
}

function sorted(members: MemberRecord[]): MemberRecord[] {
  return members.sort((a, b) => a.id - b.id);
}

/** The state after a validated ConfChange. */
export function applyMemberConfChange(
  state: ServerState,
  cc: ConfChange,
  ctx: MemberChangeContext,
): ServerState {
  if (cc.type === ConfChangeType.RemoveNode) {
    return {
      ...state,
      members: state.members.filter((m) => m.id !== cc.nodeId),
      removed: [...(state.removed ?? []), cc.nodeId],
    };
  }
  if (ctx.isPromote) {
    return {
      ...state,
      members: state.members.map((m) => (m.id === cc.nodeId ? { ...m, isLearner: false } : m)),
    };
  }
  const added: MemberRecord = {
    id: cc.nodeId,
    name: ctx.name,
    peerURLs: [...ctx.peerURLs],
    isLearner: cc.type === ConfChangeType.AddLearnerNode,
  };
  if (ctx.clientURLs.length > 0) added.clientURLs = [...ctx.clientURLs];
  return { ...state, members: sorted([...state.members, added]) };
}

/** etcd's UpdateNode: new peer URLs for a member. Throws the StoreError the caller gets. */
export function applyMemberUpdate(state: ServerState, req: { id: number; peerURLs: string[] }): ServerState {
  if (!state.members.some((m) => m.id === req.id)) throw new StoreError("MemberNotFound");
  const inUse = urlsInUse(state.members, req.id);
  if (req.peerURLs.some((u) => inUse.has(u))) throw new StoreError("PeerURLExist");
  return {
    ...state,
    members: state.members.map((m) => (m.id === req.id ? { ...m, peerURLs: [...req.peerURLs] } : m)),
  };
}

/** A member publishing its name and client URLs (etcd's publish). Unknown members are ignored. */
export function applyMemberAttributes(
  state: ServerState,
  req: { id: number; name: string; clientURLs: string[] },
): ServerState {
  return {
    ...state,
    members: state.members.map((m) =>
      m.id === req.id ? { ...m, name: req.name, clientURLs: [...req.clientURLs] } : m,
    ),
  };
}
