// Accept-header negotiation for discovery: the first acceptable media range (by q, then order)
// picks aggregated discovery v2, v2beta1, or plain JSON.

export interface Negotiated {
  /** Set when an aggregated APIGroupDiscoveryList was asked for. */
  aggregated?: "v2" | "v2beta1";
  contentType: string;
}

interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
  order: number;
}

export function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const [order, part] of header.split(",").entries()) {
    const [type, ...rawParams] = part.split(";").map((s) => s.trim());
    if (!type) continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const p of rawParams) {
      const eq = p.indexOf("=");
      if (eq <= 0) continue;
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1");
      if (key === "q") q = Number.isFinite(Number(value)) ? Number(value) : 0;
      else params.set(key, value);
    }
    ranges.push({ type: type.toLowerCase(), params, q, order });
  }
  return ranges.filter((r) => r.q > 0).sort((a, b) => b.q - a.q || a.order - b.order);
}

/** undefined when nothing acceptable (406). A missing or empty Accept means plain JSON. */
export function negotiateDiscovery(accept: string | undefined): Negotiated | undefined {
  if (accept === undefined || accept.trim() === "") return { contentType: "application/json" };
  for (const range of parseAccept(accept)) {
    const jsonish =
      range.type === "application/json" || range.type === "application/*" || range.type === "*/*";
    if (!jsonish) continue;
    const g = range.params.get("g");
    const v = range.params.get("v");
    const as = range.params.get("as");
    if (g === undefined && v === undefined && as === undefined) return { contentType: "application/json" };
    if (g === "apidiscovery.k8s.io" && as === "APIGroupDiscoveryList" && (v === "v2" || v === "v2beta1")) {
      return {
        aggregated: v,
        contentType: `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
      };
    }
  }
  return undefined;
}
