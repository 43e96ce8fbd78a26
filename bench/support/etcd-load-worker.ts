// One load-generator process: `clients` concurrent callers speaking etcd v3 gRPC to one endpoint
// for a fixed time, then one JSON line with the count and latency samples. Several of these run
// side by side because one Node process tops out near 5k req/s (shared/research notes).
import { kvClient, type Unary } from "./etcd-client.js";

interface Args {
  endpoint: string;
  op: "put" | "range" | "range-serializable";
  clients: number;
  seconds: number;
  valueBytes: number;
  keys: number;
  worker: number;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
  };
  return {
    endpoint: get("endpoint", "127.0.0.1:2379"),
    op: get("op", "put") as Args["op"],
    clients: Number(get("clients", "16")),
    seconds: Number(get("seconds", "5")),
    valueBytes: Number(get("value-bytes", "256")),
    keys: Number(get("keys", "10000")),
    worker: Number(get("worker", "0")),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const kv = kvClient(args.endpoint);
  const value = Buffer.alloc(args.valueBytes, 0x61);
  const latenciesUs: number[] = [];
  let errors = 0;
  let firstError = "";
  const deadline = performance.now() + args.seconds * 1000;
  let seq = args.worker * 1_000_003;

  const call = (fn: Unary, req: unknown) =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      fn(req, (err) => {
        if (err) {
          errors++;
          firstError ||= err.message;
        } else latenciesUs.push(Math.round((performance.now() - start) * 1000));
        resolve();
      });
    });

  const loop = async () => {
    while (performance.now() < deadline) {
      const key = Buffer.from(`bench/${(seq++ % args.keys).toString().padStart(8, "0")}`);
      if (args.op === "put") await call(kv.put, { key, value });
      else await call(kv.range, { key, serializable: args.op === "range-serializable" });
    }
  };
  await Promise.all(Array.from({ length: args.clients }, loop));
  kv.close();
  process.stdout.write(`${JSON.stringify({ ok: latenciesUs.length, errors, firstError, latenciesUs })}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
