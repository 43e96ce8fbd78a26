// Proposals on behalf of this member's clients: a request is encoded with this member's id and
// a fresh request id, handed to Raft once a leader is known, and answered when its entry is
// applied here (applier.ts settles the waiter, as etcd's wait.Wait).
import { ProposalDroppedError, type RawNode } from "../../raft/index.js";
import type { ConfChangeType, NodeId } from "../../raft/types.js";
import { StoreError } from "./errors.js";
import { RequestIdGenerator } from "./ids.js";
import { encodeMemberContext, type MemberChangeContext } from "./membership.js";
import type { ServerMetrics } from "./metrics.js";
import { encodeRequest, type InternalRequest } from "./requestcodec.js";
import type { MemberRecord } from "./snapshotdata.js";
import type { ProposalWaiters } from "./waiters.js";

/** What a proposer gets back: the state machine's result and the state right after it. */
export interface Applied<T> {
  value: T;
  /** Store revision right after the entry was applied. */
  revision: number;
  raftTerm: number;
}

export interface ProposerHost {
  readonly memberId: NodeId;
  readonly node: RawNode;
  readonly waiters: ProposalWaiters;
  readonly metrics: ServerMetrics;
  readonly maxRequestBytes: number;
  /** Resolves once a leader is known; throws when the driver stopped. */
  awaitLeader(): Promise<void>;
  checkRunning(): void;
  /** Runs the Ready loop soon. */
  schedule(): void;
}

export class Proposer {
  private readonly ids = new RequestIdGenerator();

  constructor(private readonly host: ProposerHost) {}

  /** Proposes a request and resolves with its result once applied here. */
  propose<T>(request: InternalRequest): Promise<Applied<T>> {
    const id = this.ids.nextId();
    const data = encodeRequest(this.host.memberId, id, request);
    if (data.byteLength > this.host.maxRequestBytes) return Promise.reject(new StoreError("RequestTooLarge"));
    return this.submit<T>(id, () => this.host.node.propose(data));
  }

  /**
   * Proposes a membership ConfChange and resolves with the member list once it is applied
   * here; rejects with the membership error when validation at apply time refuses it.
   */
  proposeConfChange(
    type: ConfChangeType,
    member: Omit<MemberChangeContext, "proposer" | "requestId">,
  ): Promise<Applied<readonly MemberRecord[]>> {
    const requestId = this.ids.nextId();
    const context = encodeMemberContext({ ...member, proposer: this.host.memberId, requestId });
    return this.submit(requestId, () =>
      this.host.node.proposeConfChange({ type, nodeId: member.id, context }),
    );
  }

  /** Hands a proposal to Raft once a leader is known and waits for it to apply here. */
  private async submit<T>(id: number, offer: () => void): Promise<Applied<T>> {
    const { waiters, metrics } = this.host;
    await this.host.awaitLeader();
    this.host.checkRunning();
    const result = waiters.register<Applied<T>>(id);
    try {
      offer();
    } catch (err) {
      waiters.reject(id, err instanceof ProposalDroppedError ? new StoreError("NoLeader", err.message) : err);
    }
    metrics.proposalsPending.inc();
    this.host.schedule();
    try {
      return await result;
    } catch (err) {
      metrics.proposalsFailed.inc();
      throw err;
    } finally {
      metrics.proposalsPending.dec();
    }
  }
}
