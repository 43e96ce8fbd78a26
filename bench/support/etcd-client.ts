// A bare etcd v3 KV client over @grpc/grpc-js with etcd's own proto (from the etcd3 package),
// shared by the load workers and the readiness checks so both sides see the same wire traffic.
import * as grpc from "@grpc/grpc-js";
import { etcdClientConstructors } from "../../src/etcdapi/proto.js";

export type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

type ServiceCtor = new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client;

function etcdServices(): { KV: ServiceCtor; Maintenance: ServiceCtor } {
  return etcdClientConstructors() as unknown as { KV: ServiceCtor; Maintenance: ServiceCtor };
}

type UnaryWithOptions = (
  req: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;

export function kvClient(endpoint: string): {
  put: Unary;
  range: Unary;
  /** One Put that fails with DEADLINE_EXCEEDED unless answered within deadlineMs. */
  putWithin(req: unknown, deadlineMs: number): Promise<void>;
  close(): void;
} {
  const client = new (etcdServices().KV)(endpoint, grpc.credentials.createInsecure()) as unknown as {
    Put: Unary & UnaryWithOptions;
    Range: Unary;
    close(): void;
  };
  return {
    put: client.Put.bind(client),
    range: client.Range.bind(client),
    putWithin: (req, deadlineMs) =>
      new Promise((resolve, reject) =>
        client.Put(req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err) =>
          err ? reject(err) : resolve(),
        ),
      ),
    close: () => client.close(),
  };
}

/** The Maintenance Status of one member: its own id and the leader it knows (decimal strings, "0" = none). */
export async function memberStatus(
  endpoint: string,
  deadlineMs = 1000,
): Promise<{ memberId: string; leader: string }> {
  const client = new (etcdServices().Maintenance)(endpoint, grpc.credentials.createInsecure()) as unknown as {
    Status: UnaryWithOptions;
    close(): void;
  };
  try {
    return await new Promise((resolve, reject) =>
      client.Status({}, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err) return reject(err);
        const r = res as { header: { member_id: string }; leader: string };
        resolve({ memberId: r.header.member_id, leader: r.leader });
      }),
    );
  } finally {
    client.close();
  }
}

/** Resolves once the endpoint answers a Range, or rejects after deadlineMs. */
export async function waitServing(endpoint: string, deadlineMs = 20_000): Promise<void> {
  const kv = kvClient(endpoint);
  const until = Date.now() + deadlineMs;
  try {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) =>
        kv.range({ key: Buffer.from("health") }, (err) => resolve(err === null)),
      );
      if (ok) return;
      if (Date.now() > until) throw new Error(`${endpoint} did not start serving within ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    kv.close();
  }
}
