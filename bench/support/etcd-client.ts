// A bare etcd v3 KV client over @grpc/grpc-js with etcd's own proto (from the etcd3 package),
// shared by the load workers and the readiness checks so both sides see the same wire traffic.
import { createRequire } from "node:module";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export function kvClient(endpoint: string): { put: Unary; range: Unary; close(): void } {
  const protoPath = createRequire(import.meta.url).resolve("etcd3/proto/rpc.proto");
  const def = protoLoader.loadSync(protoPath, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    etcdserverpb: { KV: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client };
  };
  const client = new pkg.etcdserverpb.KV(endpoint, grpc.credentials.createInsecure()) as unknown as {
    Put: Unary;
    Range: Unary;
    close(): void;
  };
  return { put: client.Put.bind(client), range: client.Range.bind(client), close: () => client.close() };
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
