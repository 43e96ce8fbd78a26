// Lease.LeaseKeepAlive: a bidirectional stream of renewals (etcd api/v3rpc/lease.go). Each
// request is answered in order; an unknown lease gets TTL 0 (not an error), any other failure
// ends the stream with its status. The header is taken before renewing, as etcd does, so a
// client never sees a keep-alive "after" a revocation at a later revision.
import type { handleBidiStreamingCall } from "@grpc/grpc-js";
import * as codec from "./codec.js";
import { type EtcdError, isLeaseNotFound, toStatus } from "./errors.js";
import { type ApiContext, checkLeader, requiresLeader } from "./rpc.js";

export function leaseKeepAlive(ctx: ApiContext): handleBidiStreamingCall<codec.Wire, codec.Wire> {
  const svc = ctx.service;
  return (call) => {
    let ended = false;
    const fail = (err: unknown) => {
      if (ended) return;
      finish();
      call.emit("error", toStatus(err));
    };
    const onNoLeader = (err: EtcdError) => fail(err);
    const finish = () => {
      ended = true;
      ctx.leaderStreams.delete(onNoLeader);
    };
    try {
      checkLeader(ctx, call);
    } catch (err) {
      fail(err);
      return;
    }
    if (requiresLeader(call.metadata)) ctx.leaderStreams.add(onNoLeader);

    let queue = Promise.resolve();
    call.on("data", (req: unknown) => {
      const id = codec.bigField(codec.wireField(req)?.ID);
      queue = queue
        .then(async () => {
          if (ended) return;
          const hdr = svc.header();
          let ttl: number;
          try {
            ttl = (await svc.leaseKeepAlive(id)).ttl;
          } catch (err) {
            if (!isLeaseNotFound(err)) throw err;
            ttl = 0;
          }
          if (ended) return;
          if (!call.write({ header: codec.header(hdr), ID: id.toString(), TTL: String(ttl) })) {
            // Stop reading renewals until the client reads its answers.
            call.pause();
            call.once("drain", () => call.resume());
          }
        })
        .catch(fail);
    });
    call.on("end", () => {
      queue = queue.then(() => {
        if (ended) return;
        finish();
        call.end();
      });
    });
    call.on("cancelled", finish);
    call.on("close", finish);
  };
}
