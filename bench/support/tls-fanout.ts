// The transport floor of a watch fan-out on this machine: a bare Node HTTPS server (kite
// server's own certificate) writing the same bytes per second as the fan-out phase, as chunked
// HTTP/1.1 responses to `watchers` connections held by 4 client processes that only count
// bytes. No apiserver work at all: what is left is TLS, HTTP framing and loopback TCP, i.e. the
// least CPU any server on this machine (and any client reading the events) must spend.
//   node tls-fanout.js server DATADIR WATCHERS BYTES_PER_SEC FLUSH_MS SECONDS
// prints one JSON line: {mb, serverCpuS, clientCpuS, serverMsPerMb, clientMsPerMb, seconds}.
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, createServer, request } from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [mode, ...args] = process.argv.slice(2);
const self = fileURLToPath(import.meta.url);

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function client(port: number, count: number, ca: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, ca });
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
      res.on("data", (d: Buffer) => {
        bytes += d.length;
      });
    });
    req.on("error", () => {});
    req.end();
  }
  process.on("message", (m) => {
    if (m === "start") bytes = 0;
    const cpu = cpuSeconds();
    process.send?.({ bytes, cpu }, () => {
      if (m === "done") process.exit(0);
    });
  });
}

async function server(
  dataDir: string,
  watchers: number,
  bytesPerSec: number,
  flushMs: number,
  seconds: number,
) {
  const tls = join(dataDir, "tls");
  const [cert, key, ca] = ["apiserver.crt", "apiserver.key", "ca.crt"].map((f) =>
    readFileSync(join(tls, f), "utf8"),
  );
  const responses: Array<{ write(b: Buffer): boolean }> = [];
  const srv = createServer({ cert, key }, (_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    responses.push(res);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  const kids: ChildProcess[] = [];
  const per = Math.ceil(watchers / 4);
  for (let w = 0; w < 4; w++) {
    const n = Math.min(per, watchers - w * per);
    if (n > 0) kids.push(fork(self, ["client", String(port), String(n), ca ?? ""]));
  }
  const deadline = Date.now() + 60_000;
  while (responses.length < watchers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const ask = (m: string) =>
    Promise.all(
      kids.map(
        (k) =>
          new Promise<{ bytes: number; cpu: number }>((r) => {
            k.once("message", r);
            k.send(m);
          }),
      ),
    );
  const before = await ask("start");
  const chunk = Buffer.alloc(Math.max(1, Math.round((bytesPerSec * flushMs) / 1000)), 0x61);
  const serverBefore = cpuSeconds();
  const started = Date.now();
  let sent = 0;
  while (Date.now() - started < seconds * 1000) {
    // Paced by bytes owed so far, so a late tick catches up as a real backlog would.
    const owed = Math.floor(((Date.now() - started) * bytesPerSec) / 1000 / chunk.length);
    for (; sent < owed; sent++) for (const r of responses) r.write(chunk);
    await new Promise((r) => setTimeout(r, flushMs));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const serverCpu = cpuSeconds() - serverBefore;
  const after = await ask("done");
  const mb = after.reduce((n, a) => n + a.bytes, 0) / 1e6;
  const clientCpu = after.reduce((n, a, i) => n + a.cpu - before[i]!.cpu, 0);
  const round = (n: number) => Math.round(n * 100) / 100;
  console.log(
    JSON.stringify({
      mb: round(mb),
      serverCpuS: round(serverCpu),
      clientCpuS: round(clientCpu),
      serverMsPerMb: round((serverCpu * 1000) / mb),
      clientMsPerMb: round((clientCpu * 1000) / mb),
      seconds: round((Date.now() - started) / 1000),
    }),
  );
  process.exit(0);
}

if (mode === "client") void client(Number(args[0]), Number(args[1]), args[2] ?? "");
else if (mode === "server")
  void server(args[0] ?? "", Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4]));
else {
  console.error("usage: tls-fanout server DATADIR WATCHERS BYTES_PER_SEC FLUSH_MS SECONDS");
  process.exit(2);
}
