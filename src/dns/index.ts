// src/dns owns the cluster DNS server: the Kubernetes DNS specification as CoreDNS's kubernetes
// plugin serves it (services, headless endpoints, SRV, verified pod records, PTR), answered
// authoritatively over UDP and TCP from informer caches (services, EndpointSlices, pods) and never
// forwarded: names outside the cluster domain and the reverse zones get REFUSED. It talks to the
// apiserver only through src/client and exposes CoreDNS's metric names.
export type { ClusterView, DnsEndpoint, DnsPort, DnsService } from "./cluster.js";
export { DNS_DURATION_BUCKETS, DnsMetrics } from "./metrics.js";
export { ipToReverse, reverseToIP, TYPE, typeLabel } from "./names.js";
export { DNS_SCHEMA_VERSION, Resolver, type ResolverConfig } from "./resolve.js";
export { DEFAULT_TTL_SECONDS, type DnsOptions, type DnsServer, startDns } from "./server.js";
export { encodeResponse, parseQuery, RCODE } from "./wire.js";
