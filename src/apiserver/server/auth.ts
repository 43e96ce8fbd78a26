// Authentication and authorization for the apiserver. Bearer tokens come from a token file in
// upstream's --token-auth-file format (token,user,uid,"group1,group2"); client certificates
// must chain to the cluster CA (TLS verified them; CN is the user, O the groups). Anonymous
// callers may only read the public-info endpoints, as upstream's system:public-info-viewer.
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import type { AuthorizationRequest, Authorizer, UserInfo } from "../types.js";
import { ADMIN_GROUP, ADMIN_USER } from "./certs.js";
import { readIfExists, writeFileDurably } from "./files.js";

export const ANONYMOUS: UserInfo = { username: "system:anonymous", groups: ["system:unauthenticated"] };
const AUTHENTICATED_GROUP = "system:authenticated";

/** Paths anyone may GET (upstream's system:public-info-viewer ClusterRole). */
const PUBLIC_PATHS = new Set(["/healthz", "/livez", "/readyz", "/version", "/version/"]);

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path);
}

export class TokenFileError extends Error {}

/** Parses one CSV line with double-quoted fields ("" escapes a quote). */
function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      fields.push(field);
      field = "";
    } else field += c;
  }
  if (quoted) throw new TokenFileError("unterminated quoted field");
  fields.push(field);
  return fields;
}

/** Parses a token file: token,user,uid[,"group1,group2"] per line; blank lines and # comments skipped. */
export function parseTokenFile(text: string): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>();
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    let fields: string[];
    try {
      fields = parseCsvLine(line);
    } catch (err) {
      throw new TokenFileError(`token file line ${i + 1}: ${(err as Error).message}`);
    }
    const [token, user, , groups] = fields;
    if (fields.length < 3 || !token || !user) {
      throw new TokenFileError(`token file line ${i + 1}: want token,user,uid[,"group1,group2"]`);
    }
    const groupList = groups ? groups.split(",").filter((g) => g !== "") : [];
    tokens.set(token, { username: user, groups: groupList });
  }
  return tokens;
}

/**
 * Reads <tlsDir>/tokens.csv, first writing one with a fresh admin token. Returns the tokens and
 * the admin's token (the first one mapped to kite-admin).
 */
export async function ensureTokenFile(
  tlsDir: string,
): Promise<{ tokens: Map<string, UserInfo>; adminToken: string; path: string }> {
  const path = join(tlsDir, "tokens.csv");
  let text = await readIfExists(path);
  if (text === undefined) {
    const token = randomBytes(32).toString("hex");
    text = `${token},${ADMIN_USER},${ADMIN_USER},"${ADMIN_GROUP}"\n`;
    await writeFileDurably(path, text, 0o600);
  }
  const tokens = parseTokenFile(text);
  const admin = [...tokens].find(([, user]) => user.username === ADMIN_USER);
  if (!admin) throw new TokenFileError(`${path} has no token for ${ADMIN_USER}`);
  return { tokens, adminToken: admin[0], path };
}

export type AuthResult = { user: UserInfo } | { user?: undefined; failed: true };

function withAuthenticatedGroup(user: UserInfo): UserInfo {
  return user.groups.includes(AUTHENTICATED_GROUP)
    ? user
    : { username: user.username, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

/** Owns the request authenticators: bearer token first, then a verified client certificate. */
export class RequestAuthenticator {
  private readonly bySocket = new WeakMap<TLSSocket, AuthResult>();

  constructor(private readonly tokens: Map<string, UserInfo>) {}

  /**
   * The caller's identity, ANONYMOUS when it presented nothing, or failed when it presented a
   * credential that is not valid (upstream answers 401 then, even for public paths).
   */
  authenticate(req: IncomingMessage): AuthResult {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const user = match?.[1] !== undefined ? this.tokens.get(match[1]) : undefined;
      return user ? { user: withAuthenticatedGroup(user) } : { failed: true };
    }
    const socket = req.socket as TLSSocket;
    // A connection's certificate is fixed at its handshake; keep-alive requests reuse the answer.
    const known = this.bySocket.get(socket);
    if (known) return known;
    const result = this.fromCertificate(socket);
    this.bySocket.set(socket, result);
    return result;
  }

  private fromCertificate(socket: TLSSocket): AuthResult {
    if (typeof socket.getPeerCertificate === "function") {
      const peer = socket.getPeerCertificate();
      if (peer && Object.keys(peer).length > 0) {
        if (!socket.authorized) return { failed: true };
        const cn = peer.subject?.CN;
        const username = Array.isArray(cn) ? cn[0] : cn;
        if (!username) return { failed: true };
        const o = peer.subject?.O;
        const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
        return { user: withAuthenticatedGroup({ username, groups }) };
      }
    }
    return { user: ANONYMOUS };
  }
}

/** Until RBAC lands: every authenticated request is allowed. */
export class AlwaysAllowAuthorizer implements Authorizer {
  async authorize(_req: AuthorizationRequest): Promise<{ allowed: boolean; reason?: string }> {
    return { allowed: true };
  }
}
