// Peer URLs in etcd's form (http://host:port, as in --listen-peer-urls and
// --initial-advertise-peer-urls). kite speaks its own binary protocol on that port; the scheme
// is kept so the same strings work in configuration. TLS (https) is not supported yet.
export class PeerUrlError extends Error {
  override name = "PeerUrlError";
}

export interface PeerAddress {
  host: string;
  port: number;
}

export function parsePeerUrl(url: string): PeerAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PeerUrlError(`peer url "${url}" is not a URL (want http://host:port)`);
  }
  if (parsed.protocol !== "http:") {
    throw new PeerUrlError(
      `peer url "${url}": scheme ${parsed.protocol} is not supported (want http://host:port)`,
    );
  }
  if (parsed.port === "" && !/:\d+\/?$/.test(url)) {
    throw new PeerUrlError(`peer url "${url}" has no port`);
  }
  if ((parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search !== "" || parsed.hash !== "") {
    throw new PeerUrlError(`peer url "${url}" must not have a path, query or fragment`);
  }
  // An explicit :80 leaves URL.port empty; the regex check above lets it through.
  const port = parsed.port === "" ? 80 : Number(parsed.port);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new PeerUrlError(`peer url "${url}" has no host`);
  return { host, port };
}
