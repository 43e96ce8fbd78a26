// Each simulated node's state machine: a hash chain over every applied entry, so two nodes at
// the same applied index agree exactly when they applied the same entries. Its image (what a
// snapshot carries) is just that index and hash; conf changes update its ConfState.
import type { ConfState, Entry, Snapshot } from "../../src/raft/index.js";

const FNV_OFFSET = 0x811c9dc5;

function fnvStep(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193) >>> 0;
}

function fnvNumber(h: number, n: number): number {
  let x = h;
  // Numbers here are non-negative integers below 2^53: hash the low and high 32-bit words.
  const low = n >>> 0;
  const high = Math.floor(n / 0x100000000) >>> 0;
  for (const w of [low, high]) {
    x = fnvStep(x, w & 0xff);
    x = fnvStep(x, (w >>> 8) & 0xff);
    x = fnvStep(x, (w >>> 16) & 0xff);
    x = fnvStep(x, w >>> 24);
  }
  return x;
}

/** A 32-bit digest of an entry's type and payload (not its position). */
export function entryDigest(e: Entry): number {
  let h = fnvNumber(FNV_OFFSET, e.type);
  for (const b of e.data) h = fnvStep(h, b);
  return fnvNumber(h, e.data.length);
}

export function chainHash(prev: number, e: Entry): number {
  return fnvNumber(fnvNumber(fnvNumber(prev, e.index), e.term), entryDigest(e));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class SimStateMachine {
  applied = 0;
  hash = FNV_OFFSET;
  confState: ConfState;

  constructor(confState: ConfState) {
    this.confState = cloneConf(confState);
  }

  /** Folds a committed entry in; the caller has checked it is the next index. */
  apply(e: Entry): void {
    this.hash = chainHash(this.hash, e);
    this.applied = e.index;
  }

  image(): Uint8Array {
    return encoder.encode(JSON.stringify({ applied: this.applied, hash: this.hash }));
  }

  /** Replaces the state with a snapshot's image (empty data is the initial state). */
  restore(snap: Snapshot): void {
    const { index } = snap.metadata;
    if (snap.data.length === 0) {
      this.hash = FNV_OFFSET;
    } else {
      const img = JSON.parse(decoder.decode(snap.data)) as { applied: number; hash: number };
      if (img.applied !== index) {
        throw new Error(`snapshot image is at index ${img.applied} but its metadata says ${index}`);
      }
      this.hash = img.hash;
    }
    this.applied = index;
    this.confState = cloneConf(snap.metadata.confState);
  }
}

export function cloneConf(cs: ConfState): ConfState {
  return { voters: [...cs.voters].sort((a, b) => a - b), learners: [...cs.learners].sort((a, b) => a - b) };
}

export function describeConf(cs: ConfState): string {
  const l = cs.learners.length > 0 ? ` learners=${cs.learners.join(",")}` : "";
  return `voters=${cs.voters.join(",")}${l}`;
}
