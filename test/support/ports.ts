// Free loopback ports for servers a test (or benchmark) starts. A port is picked by binding port 0
// and closing again, so the kernel may hand the same number out twice in a row; ports already
// given out by this process are never returned again, which keeps one cluster's ports distinct.
import { createServer } from "node:net";

const handedOut = new Set<number>();

function bindAnyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await bindAnyPort();
    if (port !== 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no unused loopback port found in 100 attempts");
}
