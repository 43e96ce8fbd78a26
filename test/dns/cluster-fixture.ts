// A control plane holding the objects the DNS tests resolve: a ClusterIP service "hello" with
// named ports, a headless "db" with two ready endpoints (one with a hostname) and one not ready,
// an ExternalName "ext", and a pod with status.podIP; plus a DNS server on a 127.53.x address.
import type { KubeObject } from "../../src/api/index.js";
import type { RestClient } from "../../src/client/index.js";
import { type DnsServer, startDns } from "../../src/dns/index.js";
import { startCluster, type TestCluster } from "../client/cluster.js";
import { waitFor } from "../support/require.js";

export const HELLO_IP = "10.96.0.50";
export const DB_IPS = ["10.244.1.5", "10.244.1.6"];
export const NOT_READY_IP = "10.244.1.7";
export const POD_IP = "10.244.1.9";

const slicesGVR = { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" };
const servicesGVR = { group: "", version: "v1", resource: "services" };
const podsGVR = { group: "", version: "v1", resource: "pods" };

export interface DnsFixture {
  cluster: TestCluster;
  client: RestClient;
  dns: DnsServer;
  /** What the DNS server logged. */
  logs: string[];
  close(): Promise<void>;
}

export async function seed(client: RestClient): Promise<void> {
  const services = client.resource<KubeObject>(servicesGVR, "default");
  await services.create({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "hello", namespace: "default" },
    spec: {
      clusterIP: HELLO_IP,
      selector: { app: "hello" },
      ports: [
        { name: "http", port: 80, targetPort: 8080, protocol: "TCP" },
        { name: "dns", port: 53, protocol: "UDP" },
      ],
    },
  });
  await services.create({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "db", namespace: "default" },
    spec: {
      clusterIP: "None",
      selector: { app: "db" },
      ports: [{ name: "pg", port: 5432, protocol: "TCP" }],
    },
  });
  await services.create({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "ext", namespace: "default" },
    spec: { type: "ExternalName", externalName: "example.com" },
  });
  await client.resource<KubeObject>(slicesGVR, "default").create({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "db-abcde", namespace: "default", labels: { "kubernetes.io/service-name": "db" } },
    addressType: "IPv4",
    endpoints: [
      { addresses: [DB_IPS[0]], hostname: "db-0", conditions: { ready: true } },
      { addresses: [DB_IPS[1]], conditions: { ready: true } },
      { addresses: [NOT_READY_IP], hostname: "db-2", conditions: { ready: false } },
    ],
    ports: [{ name: "pg", port: 5432, protocol: "TCP" }],
  });
  const pods = client.resource<KubeObject>(podsGVR, "default");
  const pod = await pods.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "client", namespace: "default" },
    spec: { containers: [{ name: "c", image: "busybox" }] },
  });
  await pods.updateStatus({ ...pod, status: { phase: "Running", podIP: POD_IP, podIPs: [{ ip: POD_IP }] } });
}

export async function startFixture(address: string): Promise<DnsFixture> {
  const cluster = await startCluster();
  let dns: DnsServer | undefined;
  try {
    const client = cluster.client();
    await seed(client);
    const logs: string[] = [];
    dns = await startDns({ client, address, port: 0, metricsPort: 0, log: (m) => logs.push(m) });
    const server = dns;
    await waitFor(() => server.synced(), 15_000, "DNS informers to sync");
    return {
      cluster,
      client,
      dns: server,
      logs,
      async close() {
        await server.stop();
        await cluster.close();
      },
    };
  } catch (err) {
    await dns?.stop();
    await cluster.close();
    throw err;
  }
}
