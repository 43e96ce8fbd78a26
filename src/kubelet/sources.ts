// What env.ts and volumes.ts read from the API for a pod: configmaps and secrets fetched when a
// container starts (a missing one is undefined, which they turn into upstream's errors), services
// from the kubelet's informer for the service link variables, and the node's allocatable.
import { isStatusError, type KubeObject } from "../api/index.js";
import type { Lister, RestClient } from "../client/index.js";
import type { EnvSources } from "./env.js";
import type { VolumeSources } from "./volumes.js";

const CONFIGMAPS = { group: "", version: "v1", resource: "configmaps" } as const;
const SECRETS = { group: "", version: "v1", resource: "secrets" } as const;

export interface PodSourceOptions {
  client: RestClient;
  services: Lister;
  nodeName: string;
  nodeIP: string;
  allocatable(): { cpu?: string; memory?: string };
}

export class PodSources {
  constructor(private readonly o: PodSourceOptions) {}

  private async getOptional(
    gvr: typeof CONFIGMAPS | typeof SECRETS,
    ns: string,
    name: string,
  ): Promise<KubeObject | undefined> {
    try {
      return await this.o.client.resource(gvr, ns).get(name);
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return undefined;
      throw err;
    }
  }

  env(podIP: string): EnvSources {
    return {
      getConfigMap: (ns, name) => this.getOptional(CONFIGMAPS, ns, name),
      getSecret: (ns, name) => this.getOptional(SECRETS, ns, name),
      services: (ns) => this.o.services.list(undefined, ns),
      nodeName: this.o.nodeName,
      nodeIP: this.o.nodeIP,
      podIP,
      allocatable: this.o.allocatable(),
    };
  }

  volumes(): VolumeSources {
    const o = this.o;
    return {
      getConfigMap: (ns, name) => this.getOptional(CONFIGMAPS, ns, name),
      getSecret: (ns, name) => this.getOptional(SECRETS, ns, name),
      get allocatable() {
        return o.allocatable();
      },
    };
  }
}
