// Network fault injection for tests and the Jepsen harness. A cut link drops every message to
// and from that peer as this member sees it (the TCP connections stay up, so healing is
// instant); a delay holds outbound messages to a peer for a fixed time before queueing them.
// A separate process is steered with a text spec, applyFaultSpec(), which a server can wire to
// a signal, a file or an admin endpoint. Spec grammar (clauses separated by ";"):
//   cut:2,3        cut links to members 2 and 3
//   heal:2         heal the link to member 2       heal   (or heal:*) heal every link
//   delay:2=100    delay messages to member 2 by 100 ms (delay:2=0 removes it)
//   clear          heal everything and remove all delays
// Member ids are decimal, or hex with a 0x prefix.
import type { NodeId } from "../../raft/types.js";

export class FaultSpecError extends Error {
  override name = "FaultSpecError";
}

function parseId(text: string, clause: string): NodeId {
  const t = text.trim();
  const id = /^0x[0-9a-f]+$/i.test(t)
    ? Number.parseInt(t.slice(2), 16)
    : /^\d+$/.test(t)
      ? Number(t)
      : Number.NaN;
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new FaultSpecError(`fault spec clause "${clause}": "${text}" is not a member id`);
  }
  return id;
}

function parseIdList(text: string, clause: string): NodeId[] {
  if (text.trim() === "") throw new FaultSpecError(`fault spec clause "${clause}" names no member`);
  return text.split(",").map((part) => parseId(part, clause));
}

export class TransportFaults {
  private readonly cutPeers = new Set<NodeId>();
  private readonly delays = new Map<NodeId, number>();

  /** Drops all traffic to and from peer until heal(peer). */
  cut(peer: NodeId): void {
    this.cutPeers.add(peer);
  }

  heal(peer: NodeId): void {
    this.cutPeers.delete(peer);
  }

  healAll(): void {
    this.cutPeers.clear();
  }

  isCut(peer: NodeId): boolean {
    return this.cutPeers.has(peer);
  }

  /**
   * Holds outbound messages to peer for ms before queueing them (0 removes the delay).
   * Order is kept while the delay stays the same; lowering it lets later messages overtake.
   */
  delay(peer: NodeId, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new FaultSpecError(`delay must be a non-negative number of ms, got ${ms}`);
    if (ms === 0) this.delays.delete(peer);
    else this.delays.set(peer, ms);
  }

  delayOf(peer: NodeId): number {
    return this.delays.get(peer) ?? 0;
  }

  /** Heals every link and removes every delay. */
  clear(): void {
    this.cutPeers.clear();
    this.delays.clear();
  }

  /** Applies a spec (see the file header). Validates the whole spec before changing anything. */
  applyFaultSpec(spec: string): void {
    const actions: Array<() => void> = [];
    for (const raw of spec.split(";")) {
      const clause = raw.trim();
      if (clause === "") continue;
      const colon = clause.indexOf(":");
      const verb = (colon < 0 ? clause : clause.slice(0, colon)).trim().toLowerCase();
      const args = colon < 0 ? "" : clause.slice(colon + 1);
      if (verb === "cut") {
        const ids = parseIdList(args, clause);
        actions.push(() => {
          for (const id of ids) this.cut(id);
        });
      } else if (verb === "heal" && (args.trim() === "" || args.trim() === "*")) {
        actions.push(() => this.healAll());
      } else if (verb === "heal") {
        const ids = parseIdList(args, clause);
        actions.push(() => {
          for (const id of ids) this.heal(id);
        });
      } else if (verb === "delay") {
        for (const pair of args.split(",")) {
          const [idText, msText, extra] = pair.split("=");
          const ms = Number(msText?.trim());
          if (
            idText === undefined ||
            msText === undefined ||
            extra !== undefined ||
            msText.trim() === "" ||
            !(ms >= 0)
          ) {
            throw new FaultSpecError(`fault spec clause "${clause}": expected delay:<id>=<ms>[,<id>=<ms>]`);
          }
          const id = parseId(idText, clause);
          actions.push(() => this.delay(id, ms));
        }
      } else if (verb === "clear" && args.trim() === "") {
        actions.push(() => this.clear());
      } else {
        throw new FaultSpecError(
          `fault spec clause "${clause}": unknown fault (want cut, heal, delay or clear)`,
        );
      }
    }
    for (const act of actions) act();
  }

  /** The current faults as a spec that applyFaultSpec() accepts ("" when there are none). */
  describe(): string {
    const clauses: string[] = [];
    if (this.cutPeers.size > 0) clauses.push(`cut:${[...this.cutPeers].sort((a, b) => a - b).join(",")}`);
    const delays = [...this.delays].sort((a, b) => a[0] - b[0]);
    if (delays.length > 0) clauses.push(`delay:${delays.map(([id, ms]) => `${id}=${ms}`).join(",")}`);
    return clauses.join(";");
  }
}
