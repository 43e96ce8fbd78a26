// The cluster's TLS material, made at first start and kept in <data-dir>/tls: a CA, the
// apiserver's serving certificate and the admin client certificate (CN=kite-admin,
// O=system:masters). Keys are ECDSA P-256 in PKCS#8 PEM, which both Node and Go's crypto/tls
// accept. Existing files are reused on restart; a serving certificate that no longer covers
// the requested names is re-issued from the same CA.
import { webcrypto } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { readIfExists, writeFileDurably } from "./files.js";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALGORITHM: webcrypto.EcKeyImportParams & webcrypto.EcKeyGenParams = {
  name: "ECDSA",
  namedCurve: "P-256",
};
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3650;
const LEAF_VALIDITY_DAYS = 365;
/** Leaves closer than this to expiry are re-issued at start. */
const RENEW_BEFORE_DAYS = 30;

export const ADMIN_USER = "kite-admin";
export const ADMIN_GROUP = "system:masters";

export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface ClusterTls {
  dir: string;
  ca: KeyPairPem;
  serving: KeyPairPem;
  admin: KeyPairPem;
}

export interface ServingNames {
  dns: string[];
  ips: string[];
}

/** The names the serving certificate covers: loopback, the host, the in-cluster service names. */
export function defaultServingNames(extraIps: string[] = []): ServingNames {
  const dns = [
    "localhost",
    hostname(),
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
  ];
  const ips = ["127.0.0.1", "::1", ...extraIps];
  return { dns: unique(dns.filter((n) => n !== "")), ips: unique(ips) };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function keyToPem(der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function importKeyPair(pem: KeyPairPem): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const cert = new x509.X509Certificate(pem.cert);
  const der = x509.PemConverter.decodeFirst(pem.key);
  const key = await webcrypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, true, ["sign"]);
  return { cert, key };
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

function randomSerial(): string {
  // A positive 128-bit serial: clear the top bit so DER does not read it as negative.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString("hex");
}

async function createCa(now: Date): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: "CN=kite-ca",
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const key = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: cert.toString("pem"), key: keyToPem(key) };
}

async function issueLeaf(
  ca: { cert: x509.X509Certificate; key: CryptoKey },
  subject: string,
  usage: "server" | "client",
  names: ServingNames | undefined,
  now: Date,
): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(
      [usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
  ];
  if (names) {
    const entries: x509.JsonGeneralName[] = [
      ...names.dns.map((value) => ({ type: "dns" as const, value })),
      ...names.ips.map((value) => ({ type: "ip" as const, value })),
    ];
    extensions.push(new x509.SubjectAlternativeNameExtension(entries, false));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + LEAF_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions,
  });
  const key = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: cert.toString("pem"), key: keyToPem(key) };
}

/** Whether a leaf was issued by this CA, is valid long enough and covers the wanted names. */
async function leafStillGood(
  pem: KeyPairPem,
  ca: x509.X509Certificate,
  names: ServingNames | undefined,
  now: Date,
): Promise<boolean> {
  try {
    const cert = new x509.X509Certificate(pem.cert);
    if (cert.notAfter.getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS) return false;
    if (!(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }))) return false;
    if (!names) return true;
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const have = new Set((san?.names.toJSON() ?? []).map((n) => `${n.type}:${n.value}`));
    return [...names.dns.map((d) => `dns:${d}`), ...names.ips.map((i) => `ip:${i}`)].every((n) =>
      have.has(n),
    );
  } catch {
    return false;
  }
}

async function loadPair(dir: string, base: string): Promise<KeyPairPem | undefined> {
  const cert = await readIfExists(join(dir, `${base}.crt`));
  const key = await readIfExists(join(dir, `${base}.key`));
  return cert !== undefined && key !== undefined ? { cert, key } : undefined;
}

async function savePair(dir: string, base: string, pair: KeyPairPem): Promise<void> {
  await writeFileDurably(join(dir, `${base}.key`), pair.key, 0o600);
  await writeFileDurably(join(dir, `${base}.crt`), pair.cert, 0o644);
}

/**
 * Loads the cluster's TLS material from <dataDir>/tls, creating what is missing. A new CA
 * re-issues both leaves; a leaf that is expiring, from another CA or missing names is re-issued.
 */
export async function ensureClusterTls(
  dataDir: string,
  names: ServingNames = defaultServingNames(),
  now: Date = new Date(),
): Promise<ClusterTls> {
  const dir = join(dataDir, "tls");
  let caPem = await loadPair(dir, "ca");
  if (!caPem) {
    caPem = await createCa(now);
    await savePair(dir, "ca", caPem);
  }
  const ca = await importKeyPair(caPem);
  let serving = await loadPair(dir, "apiserver");
  if (!serving || !(await leafStillGood(serving, ca.cert, names, now))) {
    serving = await issueLeaf(ca, "CN=kube-apiserver", "server", names, now);
    await savePair(dir, "apiserver", serving);
  }
  let admin = await loadPair(dir, "admin");
  if (!admin || !(await leafStillGood(admin, ca.cert, undefined, now))) {
    admin = await issueLeaf(ca, `CN=${ADMIN_USER}, O=${ADMIN_GROUP}`, "client", undefined, now);
    await savePair(dir, "admin", admin);
  }
  return { dir, ca: caPem, serving, admin };
}
