// The Maintenance and Cluster services (etcd api/v3rpc/maintenance.go, member.go).
import { createHash } from "node:crypto";
import {
  type handleServerStreamingCall,
  status as Status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { AlarmType, KvService, Member, ResponseHeader } from "../store/server/types.js";
import * as codec from "./codec.js";
import { ETCD_ERRORS, EtcdError, toStatus } from "./errors.js";
import { enumNumber } from "./proto.js";
import { type ApiContext, checkLeader, unary } from "./rpc.js";

const ALARM_TYPES: readonly AlarmType[] = ["NONE", "NOSPACE", "CORRUPT"];
const ALARM_TYPE_NAMES = ["None", "Nospace", "Corrupt"];
const ALARM_ACTION_NAMES = ["Get", "Activate", "Deactivate"];

/** etcd's snapshotSendBufferSize. */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;
/**
 * etcdctl `snapshot save` accepts a download only when its size modulo 512 is 32 (the sha256
 * trailer after a page-aligned bbolt file), so the image is zero-padded to a multiple of 512.
 */
export const SNAPSHOT_ALIGN_BYTES = 512;

function alarmsWire(alarms: { memberId: bigint; alarm: AlarmType }[]): codec.Wire[] {
  return alarms.map((a) => ({ memberID: a.memberId.toString(), alarm: ALARM_TYPES.indexOf(a.alarm) }));
}

function memberWire(m: Member): codec.Wire {
  return {
    ID: m.id.toString(),
    name: m.name,
    peerURLs: m.peerURLs,
    clientURLs: m.clientURLs,
    isLearner: m.isLearner,
  };
}

/** etcd's types.NewURLs check: http(s)/unix(s) scheme, host:port, no path. */
export function validPeerUrls(urls: string[]): boolean {
  const form = /^(https?|unixs?):\/\/(\[[0-9a-fA-F:.]+\]|[^/:?#@[\]]*):[0-9]*$/;
  return urls.length > 0 && urls.every((u) => form.test(u));
}

async function findMember(svc: KvService, id: bigint): Promise<Member> {
  const { members } = await svc.memberList();
  const m = members.find((x) => x.id === id);
  if (!m) throw EtcdError.of("MemberNotFound");
  return m;
}

const reconfigurationUnsupported = () =>
  new EtcdError(Status.UNIMPLEMENTED, "kite: membership changes are not supported by this server");

export function clusterService(ctx: ApiContext): UntypedServiceImplementation {
  const svc = ctx.service;
  return {
    MemberList: unary(ctx, async () => {
      const res = await svc.memberList();
      // etcd's cluster responses carry no revision in their header.
      return { header: codec.header({ ...res.header, revision: 0 }), members: res.members.map(memberWire) };
    }),
    MemberAdd: unary(ctx, async (w) => {
      const urls = codec.listField(w.peerURLs).map(String);
      if (!validPeerUrls(urls)) throw EtcdError.of("MemberBadURLs");
      if (!svc.memberAdd) throw reconfigurationUnsupported();
      const res = await svc.memberAdd(urls, w.isLearner === true);
      return {
        header: codec.header({ ...res.header, revision: 0 }),
        member: memberWire(res.member),
        members: res.members.map(memberWire),
      };
    }),
    MemberRemove: unary(ctx, async (w) => {
      if (!svc.memberRemove) {
        await findMember(svc, codec.bigField(w.ID));
        throw reconfigurationUnsupported();
      }
      return membersReply(await svc.memberRemove(codec.bigField(w.ID)));
    }),
    MemberUpdate: unary(ctx, async (w) => {
      if (!svc.memberUpdate) {
        await findMember(svc, codec.bigField(w.ID));
        throw reconfigurationUnsupported();
      }
      return membersReply(
        await svc.memberUpdate(codec.bigField(w.ID), codec.listField(w.peerURLs).map(String)),
      );
    }),
    MemberPromote: unary(ctx, async (w) => {
      if (!svc.memberPromote) {
        const m = await findMember(svc, codec.bigField(w.ID));
        if (!m.isLearner) {
          throw new EtcdError(Status.FAILED_PRECONDITION, "etcdserver: can only promote a learner member");
        }
        throw reconfigurationUnsupported();
      }
      return membersReply(await svc.memberPromote(codec.bigField(w.ID)));
    }),
  };
}

function membersReply(res: { header: ResponseHeader; members: Member[] }): codec.Wire {
  // etcd's cluster responses carry no revision in their header.
  return { header: codec.header({ ...res.header, revision: 0 }), members: res.members.map(memberWire) };
}

export function maintenanceService(ctx: ApiContext): UntypedServiceImplementation {
  const svc = ctx.service;
  return {
    Status: unary(ctx, async () => {
      const s = await svc.status();
      const errors = [...s.errors];
      if (s.leader === 0n && !errors.includes(ETCD_ERRORS.NoLeader.message))
        errors.unshift(ETCD_ERRORS.NoLeader.message);
      return {
        header: codec.header(s.header),
        version: s.version,
        dbSize: String(s.dbSize),
        leader: s.leader.toString(),
        raftIndex: String(s.raftIndex),
        raftTerm: String(s.raftTerm),
        raftAppliedIndex: String(s.raftAppliedIndex),
        errors,
        dbSizeInUse: String(s.dbSizeInUse),
        isLearner: s.isLearner,
      };
    }),
    HashKV: unary(ctx, async (w) => {
      const res = await svc.hashKV(codec.intField(w.revision));
      return {
        header: codec.header(res.header),
        hash: String(res.hash),
        compact_revision: String(res.compactRevision),
      };
    }),
    Hash: unary(ctx, () => {
      throw new EtcdError(
        Status.UNIMPLEMENTED,
        "kite: Hash (of the bbolt file) is not supported; use HashKV",
      );
    }),
    Alarm: unary(ctx, async (w) => {
      const action = enumNumber(w.action ?? 0, ALARM_ACTION_NAMES);
      const alarm = ALARM_TYPES[enumNumber(w.alarm ?? 0, ALARM_TYPE_NAMES)] ?? "NONE";
      const member = { memberId: codec.bigField(w.memberID), alarm };
      const res =
        action === 1
          ? await svc.alarmActivate(member)
          : action === 2
            ? await svc.alarmDeactivate(member)
            : await svc.alarmList();
      return { header: codec.header(res.header), alarms: alarmsWire(res.alarms) };
    }),
    Defragment: unary(ctx, async () => {
      await svc.defragment();
      return {}; // etcd's DefragmentResponse carries no header
    }),
    MoveLeader: unary(ctx, async (w) => {
      const self = svc.header().memberId;
      const status = await svc.status();
      if (status.leader !== self) throw EtcdError.of("NotLeader");
      const target = codec.bigField(w.targetID);
      if (svc.moveLeader) return { header: codec.header((await svc.moveLeader(target)).header) };
      const { members } = await svc.memberList();
      const m = members.find((x) => x.id === target);
      if (!m || m.isLearner) throw EtcdError.of("BadLeaderTransferee");
      if (target !== self) {
        throw new EtcdError(
          Status.UNIMPLEMENTED,
          "kite: leadership transfer is not supported by this server",
        );
      }
      return { header: codec.header(svc.header()) };
    }),
    Snapshot: snapshotCall(ctx),
  };
}

/**
 * Streams the store image in 32 KiB chunks with remaining_bytes counting down, then a last
 * message whose blob is the sha256 of everything sent (etcd's integrity trailer).
 */
function snapshotCall(ctx: ApiContext): handleServerStreamingCall<codec.Wire, codec.Wire> {
  return (call) => {
    let cancelled = false;
    call.on("cancelled", () => {
      cancelled = true;
    });
    const run = async () => {
      checkLeader(ctx, call);
      const snap = await ctx.service.snapshot();
      const total = Math.ceil(snap.size / SNAPSHOT_ALIGN_BYTES) * SNAPSHOT_ALIGN_BYTES;
      const sha = createHash("sha256");
      let sent = 0;
      const send = async (blob: Uint8Array) => {
        sent += blob.length;
        sha.update(blob);
        if (!call.write({ remaining_bytes: String(Math.max(0, total - sent)), blob })) {
          await new Promise<void>((resolve) => {
            call.once("drain", resolve);
            call.once("cancelled", resolve);
          });
        }
      };
      let buf = Buffer.alloc(0);
      for await (const chunk of snap.chunks) {
        if (cancelled) return;
        buf = buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([buf, chunk]);
        while (buf.length >= SNAPSHOT_CHUNK_BYTES) {
          await send(buf.subarray(0, SNAPSHOT_CHUNK_BYTES));
          buf = buf.subarray(SNAPSHOT_CHUNK_BYTES);
        }
      }
      if (sent + buf.length > total) throw new Error("snapshot produced more bytes than it announced");
      const padded = Buffer.concat([buf, Buffer.alloc(total - sent - buf.length)]);
      for (let off = 0; off < padded.length; off += SNAPSHOT_CHUNK_BYTES) {
        await send(padded.subarray(off, off + SNAPSHOT_CHUNK_BYTES));
      }
      if (cancelled) return;
      call.write({ remaining_bytes: "0", blob: sha.digest() });
      call.end();
    };
    run().catch((err: unknown) => {
      if (!cancelled) call.emit("error", toStatus(err));
    });
  };
}
