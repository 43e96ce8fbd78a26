// The admin kubeconfig: cluster "kite" (the CA inline, the server URL), user "kite-admin" with
// the admin client certificate, context "kite" made current. Written to <data-dir>/kubeconfig.
import { join } from "node:path";
import { stringify } from "yaml";
import type { KeyPairPem } from "./certs.js";
import { ADMIN_USER } from "./certs.js";
import { readIfExists, writeFileDurably } from "./files.js";

export function kubeconfigPath(dataDir: string): string {
  return join(dataDir, "kubeconfig");
}

const b64 = (pem: string) => Buffer.from(pem).toString("base64");

export function renderKubeconfig(server: string, caCert: string, admin: KeyPairPem): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "kite", cluster: { "certificate-authority-data": b64(caCert), server } }],
    users: [
      {
        name: ADMIN_USER,
        user: { "client-certificate-data": b64(admin.cert), "client-key-data": b64(admin.key) },
      },
    ],
    contexts: [{ name: "kite", context: { cluster: "kite", user: ADMIN_USER } }],
    "current-context": "kite",
    preferences: {},
  });
}

export async function writeKubeconfig(dataDir: string, text: string): Promise<string> {
  const path = kubeconfigPath(dataDir);
  await writeFileDurably(path, text, 0o600);
  return path;
}

export async function readKubeconfig(dataDir: string): Promise<string | undefined> {
  return readIfExists(kubeconfigPath(dataDir));
}

/** The URL clients on this host use: a wildcard bind address is reached over loopback. */
export function clientUrl(bindAddress: string, port: number): string {
  const host =
    bindAddress === "0.0.0.0" || bindAddress === ""
      ? "127.0.0.1"
      : bindAddress === "::"
        ? "::1"
        : bindAddress;
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
