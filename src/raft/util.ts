// Small helpers shared by the log, the storage and the state machine.

import { type Entry, type Message, type MessageType, NONE } from "./types.js";

/**
 * ents[lo, hi) cut so that the summed data size stays within maxSize, but always at least
 * one entry. Copies only the returned range.
 */
export function limitSize(ents: Entry[], lo: number, hi: number, maxSize: number): Entry[] {
  if (hi - lo <= 1 || maxSize === Number.POSITIVE_INFINITY) return ents.slice(lo, hi);
  let size = ents[lo].data.length;
  let end = lo + 1;
  while (end < hi) {
    size += ents[end].data.length;
    if (size > maxSize) break;
    end++;
  }
  return ents.slice(lo, end);
}

/** Summed data bytes of the entries: what maxSizePerMsg and the uncommitted limit count. */
export function payloadSize(ents: Entry[]): number {
  let size = 0;
  for (const e of ents) size += e.data.length;
  return size;
}

/** A stable string key for a read request context. */
export function ctxKey(ctx: Uint8Array): string {
  let key = "";
  for (let i = 0; i < ctx.length; i++) key += String.fromCharCode(ctx[i]);
  return key;
}

/** A message with every field defaulted; callers set what they need. */
export function newMessage(fields: Partial<Message> & { type: MessageType }): Message {
  return {
    from: NONE,
    to: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

export enum CampaignType {
  PreElection = "CampaignPreElection",
  Election = "CampaignElection",
  /** Forced by MsgTimeoutNow: voters ignore their leader lease. */
  Transfer = "CampaignTransfer",
}
