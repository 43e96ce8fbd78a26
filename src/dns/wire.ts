// The DNS wire format around dns-packet: the query's question is parsed here from the raw bytes
// (labels kept exactly, so the question is echoed byte for byte and a label holding a "." or odd
// bytes never matches by accident), dns-packet decodes the rest (EDNS) and encodes answers, and
// responses are cut to the client's UDP size with TC set as RFC 1035/6891 require.
import * as dnsPacket from "dns-packet";

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

export const RCODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(RCODE).map(([name, code]) => [code, name]),
);

export interface Edns {
  udpPayloadSize: number;
  version: number;
}

export interface Query {
  id: number;
  opcode: number;
  recursionDesired: boolean;
  /** The question's labels as sent (latin1, byte for byte). */
  labels: string[];
  qtype: number;
  qclass: number;
  /** The question section's bytes, echoed in the response. */
  rawQuestion: Buffer;
  edns?: Edns;
}

/** What the parser makes of a datagram: a query, a header-only error answer, or nothing (drop). */
export type Parsed =
  | { kind: "query"; query: Query }
  | { kind: "error"; id: number; rcode: number; rawQuestion?: Buffer; opcode: number }
  | { kind: "drop" };

const QR = 0x8000;
const MAX_NAME_BYTES = 255;

function parseName(buf: Buffer, offset: number): { labels: string[]; end: number } | undefined {
  const labels: string[] = [];
  let total = 1;
  for (let i = offset; i < buf.length; ) {
    const len = buf[i]!;
    if (len === 0) return { labels, end: i + 1 };
    // Compression pointers cannot point backwards of a first question, and 0x40/0x80 are unused.
    if ((len & 0xc0) !== 0) return undefined;
    total += len + 1;
    if (total > MAX_NAME_BYTES || i + 1 + len > buf.length) return undefined;
    labels.push(buf.toString("latin1", i + 1, i + 1 + len));
    i += 1 + len;
  }
  return undefined;
}

export function parseQuery(buf: Buffer): Parsed {
  if (buf.length < 12) return { kind: "drop" };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if ((flags & QR) !== 0) return { kind: "drop" }; // a response: answering it could loop
  const opcode = (flags >> 11) & 0xf;
  const qdcount = buf.readUInt16BE(4);
  if (qdcount !== 1) return { kind: "error", id, opcode, rcode: RCODE.FORMERR };
  const name = parseName(buf, 12);
  if (name === undefined || name.end + 4 > buf.length)
    return { kind: "error", id, opcode, rcode: RCODE.FORMERR };
  const rawQuestion = buf.subarray(12, name.end + 4);
  if (opcode !== 0) return { kind: "error", id, opcode, rcode: RCODE.NOTIMP, rawQuestion };
  let edns: Edns | undefined;
  try {
    const decoded = dnsPacket.decode(buf);
    for (const rr of decoded.additionals ?? []) {
      if (rr.type === "OPT") {
        if (edns !== undefined) return { kind: "error", id, opcode, rcode: RCODE.FORMERR, rawQuestion };
        edns = { udpPayloadSize: rr.udpPayloadSize, version: rr.ednsVersion };
      }
    }
  } catch {
    return { kind: "error", id, opcode, rcode: RCODE.FORMERR, rawQuestion };
  }
  return {
    kind: "query",
    query: {
      id,
      opcode,
      recursionDesired: (flags & 0x0100) !== 0,
      labels: name.labels,
      qtype: buf.readUInt16BE(name.end),
      qclass: buf.readUInt16BE(name.end + 2),
      rawQuestion,
      ...(edns ? { edns } : {}),
    },
  };
}

export interface Answer {
  rcode: number;
  answers: dnsPacket.Answer[];
  authorities: dnsPacket.Answer[];
  additionals: dnsPacket.Answer[];
}

/** The UDP payload size we advertise and accept at most (the DNS flag day 2020 value). */
export const EDNS_UDP_SIZE = 1232;

export interface ResponseHeader {
  id: number;
  opcode: number;
  recursionDesired: boolean;
  rawQuestion?: Buffer;
  edns?: Edns;
}

function encode(h: ResponseHeader, a: Answer, truncated: boolean): Buffer {
  const additionals = [...a.additionals];
  if (h.edns !== undefined) {
    additionals.push({
      type: "OPT",
      name: ".",
      udpPayloadSize: EDNS_UDP_SIZE,
      extendedRcode: a.rcode >> 4,
      ednsVersion: 0,
      flags: 0,
      flag_do: false,
      options: [],
    });
  }
  let flags = dnsPacket.AUTHORITATIVE_ANSWER | (h.opcode << 11) | (a.rcode & 0xf);
  if (h.recursionDesired) flags |= dnsPacket.RECURSION_DESIRED;
  if (truncated) flags |= dnsPacket.TRUNCATED_RESPONSE;
  const body = dnsPacket.encode({
    type: "response",
    id: h.id,
    flags,
    questions: [],
    answers: a.answers,
    authorities: a.authorities,
    additionals,
  });
  if (h.rawQuestion === undefined) return body;
  body.writeUInt16BE(1, 4);
  return Buffer.concat([body.subarray(0, 12), h.rawQuestion, body.subarray(12)]);
}

/**
 * Encodes the response within maxBytes: additional records go first (no TC needed for them),
 * then TC is set and as many answers as fit are kept.
 */
export function encodeResponse(h: ResponseHeader, a: Answer, maxBytes = 65535): Buffer {
  const full = encode(h, a, false);
  if (full.length <= maxBytes) return full;
  const noExtra = encode(h, { ...a, additionals: [] }, false);
  if (noExtra.length <= maxBytes) return noExtra;
  const cut = (n: number) =>
    encode(h, { rcode: a.rcode, answers: a.answers.slice(0, n), authorities: [], additionals: [] }, true);
  // Binary search for the most answers that fit: encoded size grows with n.
  let lo = 0;
  let hi = a.answers.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cut(mid).length <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return cut(lo);
}

/** The most a UDP response to this query may carry. */
export function udpLimit(edns: Edns | undefined): number {
  if (edns === undefined) return 512;
  return Math.min(Math.max(512, edns.udpPayloadSize), EDNS_UDP_SIZE);
}
