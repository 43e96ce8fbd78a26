// What a proxy mode implements. The proxy computes the whole desired state on every sync and hands
// it over; a backend turns it into listeners (userspace) or, later, iptables/nftables rules, and
// must make a repeated sync of an unchanged state cheap.
import type { DesiredState } from "./desired.js";

export interface ProxyBackend {
  /** "userspace", later "iptables" / "nftables"; served at /proxyMode. */
  readonly mode: string;
  /** Applies the state. Frontends it cannot set up yet it keeps retrying on its own. */
  sync(state: DesiredState): Promise<void>;
  /** Frontends ("TCP/ip:port") set up, and those wanted but not (yet) possible. */
  frontends(): { bound: string[]; pending: string[] };
  /** Removes everything it set up (listeners and their connections). */
  stop(): Promise<void>;
}
