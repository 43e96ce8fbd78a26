// The replicated state machine behind the log: the MVCC store plus the server's own state
// (cluster id, members, alarms). Every member applies the same entries in the same order and
// gets the same results, so every decision here depends on the log alone (etcd's applierV3,
// with the "capped" applier's NOSPACE rule folded in).
import { decodeConfChange } from "../../raft/index.js";
import type { ConfChange, Snapshot } from "../../raft/types.js";
import { type Lessor, MvccStore, type MvccStoreOptions } from "../mvcc/index.js";
import { StoreError, toStoreError } from "./errors.js";
import {
  applyMemberAttributes,
  applyMemberConfChange,
  applyMemberUpdate,
  decodeMemberContext,
  type MemberChangeContext,
  validateConfChange,
} from "./membership.js";
import { decodeRequest, type InternalRequest } from "./requestcodec.js";
import { txnHasPut } from "./requestinfo.js";
import {
  decodeSnapshotData,
  encodeSnapshotData,
  type MemberRecord,
  type ServerState,
} from "./snapshotdata.js";
import type { AlarmMember } from "./types.js";

export type ApplyOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface AppliedRequest {
  /** The member that proposed it and its request id, to find the waiting caller. */
  member: number;
  id: number;
  outcome: ApplyOutcome;
}

/** A ConfChange entry after membership validation; error set when it must not take effect. */
export interface AppliedConfChange {
  cc: ConfChange;
  ctx: MemberChangeContext;
  error?: StoreError;
}

export class StateMachine {
  store: MvccStore;
  private state: ServerState;
  /** Bumped on every membership change (the driver re-syncs the transport's peers). */
  membersVersion = 0;

  constructor(snapshot: Snapshot, storeOptions: MvccStoreOptions, lessor: Lessor) {
    const { state, mvcc } = decodeSnapshotData(snapshot.data);
    this.state = state;
    this.store = MvccStore.restore(mvcc, storeOptions);
    this.store.attachLessor(lessor);
  }

  get clusterId(): bigint {
    return this.state.clusterId;
  }

  get members(): readonly MemberRecord[] {
    return this.state.members;
  }

  /** Ids of members removed from the cluster; they are never reused. */
  get removedMembers(): readonly number[] {
    return this.state.removed ?? [];
  }

  get alarms(): readonly AlarmMember[] {
    return this.state.alarms;
  }

  hasAlarm(alarm: AlarmMember["alarm"]): boolean {
    return this.state.alarms.some((a) => a.alarm === alarm);
  }

  /** The state-machine image for a Raft snapshot. */
  snapshotData(): Uint8Array {
    return encodeSnapshotData(this.state, this.store.snapshot());
  }

  /** Replaces everything with a snapshot's state; watchers stay and re-sync. */
  restore(snapshot: Snapshot): void {
    const { state, mvcc } = decodeSnapshotData(snapshot.data);
    this.state = state;
    this.membersVersion++;
    this.store.restoreFrom(mvcc);
  }

  /** Applies a normal entry. Undecodable data is a corrupt log: throws. */
  applyEntry(data: Uint8Array): AppliedRequest {
    const { member, id, request } = decodeRequest(data);
    try {
      return { member, id, outcome: { ok: true, value: this.apply(request) } };
    } catch (err) {
      return { member, id, outcome: { ok: false, error: toStoreError(err) } };
    }
  }

  /**
   * Validates a committed ConfChange against the members and records it; the driver applies it
   * to Raft only when it carries no error (etcd's applyConfChange).
   */
  applyConfChange(data: Uint8Array): AppliedConfChange {
    const cc = decodeConfChange(data);
    const ctx = decodeMemberContext(cc);
    const code = validateConfChange(this.state, cc, ctx);
    if (code !== undefined) return { cc, ctx, error: new StoreError(code) };
    this.state = applyMemberConfChange(this.state, cc, ctx);
    this.membersVersion++;
    return { cc, ctx };
  }

  private apply(request: InternalRequest): unknown {
    switch (request.kind) {
      case "put":
        if (this.hasAlarm("NOSPACE")) throw new StoreError("NoSpace");
        return this.store.put(request.req);
      case "deleteRange":
        return this.store.deleteRange(request.req);
      case "txn":
        if (this.hasAlarm("NOSPACE") && txnHasPut(request.req)) throw new StoreError("NoSpace");
        return this.store.txn(request.req);
      case "compact":
        return this.store.compact(request.req.revision);
      case "leaseGrant":
        if (this.hasAlarm("NOSPACE")) throw new StoreError("NoSpace");
        return this.store.leaseGrant(request.req.id, request.req.ttl);
      case "leaseRevoke":
        return this.store.leaseRevoke(request.req.id);
      case "alarm":
        return this.applyAlarm(request.req);
      case "memberUpdate":
        this.state = applyMemberUpdate(this.state, request.req);
        this.membersVersion++;
        return this.state.members;
      case "memberAttributes":
        this.state = applyMemberAttributes(this.state, request.req);
        this.membersVersion++;
        return this.state.members;
    }
  }

  /** Returns the alarms the request changed (etcd's AlarmResponse). */
  private applyAlarm(req: {
    action: "activate" | "deactivate";
    memberId: bigint;
    alarm: AlarmMember["alarm"];
  }) {
    const same = (a: AlarmMember) => a.memberId === req.memberId && a.alarm === req.alarm;
    if (req.action === "activate") {
      if (req.alarm === "NONE") return [];
      const entry = { memberId: req.memberId, alarm: req.alarm };
      if (!this.state.alarms.some(same))
        this.state = { ...this.state, alarms: [...this.state.alarms, entry] };
      return [entry];
    }
    const removed = this.state.alarms.filter(same);
    this.state = { ...this.state, alarms: this.state.alarms.filter((a) => !same(a)) };
    return removed;
  }
}

/** The state a new cluster starts from (the bootstrap snapshot's data). */
export function initialSnapshotData(
  clusterId: bigint,
  members: MemberRecord[],
  opts: MvccStoreOptions,
): Uint8Array {
  return encodeSnapshotData({ clusterId, members, alarms: [] }, new MvccStore(opts).snapshot());
}
