// The simulated network: every message gets a delay in ticks, may be dropped or duplicated,
// and messages due in the same tick are delivered in a random order (reordering). Links can
// be cut one way (asymmetric partition) or both ways; a cut link drops what crosses it at
// delivery time, so messages already in flight when a partition forms are lost too.
import type { Message, NodeId } from "../../src/raft/index.js";
import type { Rng } from "./rng.js";

export interface NetworkOptions {
  /** Delay of a message in ticks is drawn uniformly from [minDelay, maxDelay]. */
  minDelay: number;
  maxDelay: number;
  dropRate: number;
  duplicateRate: number;
}

interface InFlight {
  msg: Message;
  deliverAt: number;
  /** Sending order, to break ties deterministically before the shuffle. */
  seq: number;
}

export type Outcome = "delivered" | "dropped" | "cut";

export class SimNetwork {
  private inFlight: InFlight[] = [];
  private seq = 0;
  /** Directed links that are cut, as "from>to". */
  private cut = new Set<string>();
  private gone = new Set<NodeId>();
  /** Scripted tests set this to lose chosen messages (outcome "dropped"). */
  dropIf: ((msg: Message) => boolean) | undefined;

  constructor(
    private readonly rng: Rng,
    public options: NetworkOptions,
  ) {}

  send(msg: Message, now: number): void {
    const copies = this.rng.chance(this.options.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = this.rng.range(this.options.minDelay, this.options.maxDelay);
      this.inFlight.push({ msg, deliverAt: now + delay, seq: this.seq++ });
    }
  }

  /**
   * Removes and returns the messages due at `now`, shuffled, each with whether it gets
   * through. Dropped and cut messages are returned too so the caller can report them.
   */
  takeDue(now: number): { msg: Message; outcome: Outcome }[] {
    const due: InFlight[] = [];
    const later: InFlight[] = [];
    for (const f of this.inFlight) (f.deliverAt <= now ? due : later).push(f);
    if (due.length === 0) return [];
    this.inFlight = later;
    this.rng.shuffle(due);
    return due.map(({ msg }) => ({ msg, outcome: this.fate(msg) }));
  }

  private fate(msg: Message): Outcome {
    if (!this.linked(msg.from, msg.to)) return "cut";
    if (this.dropIf?.(msg)) return "dropped";
    return this.rng.chance(this.options.dropRate) ? "dropped" : "delivered";
  }

  linked(from: NodeId, to: NodeId): boolean {
    return !this.gone.has(from) && !this.gone.has(to) && !this.cut.has(`${from}>${to}`);
  }

  pending(): number {
    return this.inFlight.length;
  }

  /** Cuts every link between the two groups, in both directions. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut.add(`${x}>${y}`);
        this.cut.add(`${y}>${x}`);
      }
    }
  }

  /** Cuts only the direction from -> to. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  cutLinks(): string[] {
    return [...this.cut].sort();
  }

  /** A removed member: nothing reaches it or leaves it any more. */
  retire(id: NodeId): void {
    this.gone.add(id);
  }
}
