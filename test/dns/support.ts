// Helpers for the DNS tests: one query over UDP or TCP (RFC 1035 length framing) decoded with
// dns-packet, with a deadline so a server that never answers fails the test instead of hanging it.
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import * as dnsPacket from "dns-packet";

export interface QueryOptions {
  id?: number;
  edns?: boolean;
  timeoutMs?: number;
}

/** dns-packet decodes the rcode as a name ("NOERROR") but its types leave it out. */
export type Reply = dnsPacket.DecodedPacket & { rcode: string };

export function decodeReply(buf: Buffer): Reply {
  return dnsPacket.decode(buf) as Reply;
}

let nextId = 1;

export function queryPacket(name: string, type: dnsPacket.RecordType, opts: QueryOptions = {}): Buffer {
  return dnsPacket.encode({
    type: "query",
    id: opts.id ?? (nextId = (nextId % 65535) + 1),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: "IN" }],
    additionals: opts.edns
      ? [
          {
            type: "OPT",
            name: ".",
            udpPayloadSize: 4096,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          },
        ]
      : [],
  });
}

/** Sends raw bytes over UDP; resolves the raw answer, or undefined when none comes within timeoutMs. */
export function udpRaw(
  address: string,
  port: number,
  msg: Buffer,
  timeoutMs = 3000,
): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const sock = createSocket("udp4");
    const timer = setTimeout(() => {
      sock.close();
      resolve(undefined);
    }, timeoutMs);
    sock.once("error", (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.once("message", (answer) => {
      clearTimeout(timer);
      sock.close();
      resolve(answer);
    });
    sock.send(msg, port, address);
  });
}

export async function udpQuery(
  address: string,
  port: number,
  name: string,
  type: dnsPacket.RecordType,
  opts: QueryOptions = {},
): Promise<Reply> {
  const raw = await udpRaw(address, port, queryPacket(name, type, opts), opts.timeoutMs);
  if (raw === undefined) throw new Error(`no UDP answer for ${name} ${type}`);
  return decodeReply(raw);
}

/** Sends each message framed on one TCP connection; resolves the answers in order. */
export function tcpRaw(address: string, port: number, msgs: Buffer[], timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, address);
    const answers: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`TCP: ${answers.length}/${msgs.length} answers within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on("connect", () => {
      for (const m of msgs) {
        const frame = Buffer.alloc(2 + m.length);
        frame.writeUInt16BE(m.length, 0);
        m.copy(frame, 2);
        sock.write(frame);
      }
    });
    sock.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const len = pending.readUInt16BE(0);
        answers.push(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
      }
      if (answers.length === msgs.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve(answers);
      }
    });
  });
}

export async function tcpQuery(
  address: string,
  port: number,
  name: string,
  type: dnsPacket.RecordType,
  opts: QueryOptions = {},
): Promise<Reply> {
  const [raw] = await tcpRaw(address, port, [queryPacket(name, type, opts)], opts.timeoutMs);
  return decodeReply(raw!);
}

/** "A 10.0.0.1", "SRV 0 100 80 x.", "PTR name", ... for compact assertions. */
export function show(rr: dnsPacket.Answer): string {
  switch (rr.type) {
    case "SRV":
      return `SRV ${rr.data.priority} ${rr.data.weight} ${rr.data.port} ${rr.data.target}`;
    case "SOA":
      return `SOA ${rr.data.mname}`;
    case "TXT":
      return `TXT ${Buffer.concat([rr.data].flat().map((d) => Buffer.from(d))).toString()}`;
    case "OPT":
      return "OPT";
    default:
      return `${rr.type} ${(rr as dnsPacket.StringAnswer).data}`;
  }
}
