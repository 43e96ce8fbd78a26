// One pod-creating worker of bench/scheduler: creates `count` pods named p<start..start+count-1>
// in a namespace with `concurrency` creates in flight, then prints one JSON line
// {created, errors, firstError}.
import { RestClient } from "../../src/client/index.js";

const [kubeconfig, namespace, startText, countText, concurrencyText] = process.argv.slice(2);
if (!kubeconfig || !namespace || !startText || !countText || !concurrencyText) {
  console.error("usage: scheduler-worker KUBECONFIG NAMESPACE START COUNT CONCURRENCY");
  process.exit(2);
}
const start = Number(startText);
const count = Number(countText);
const concurrency = Number(concurrencyText);
const client = RestClient.fromKubeconfig(kubeconfig, { qps: 100_000, burst: 100_000 });
const pods = client.resource({ group: "", version: "v1", resource: "pods" }, namespace);

let next = start;
let created = 0;
let errors = 0;
let firstError: string | undefined;
async function worker(): Promise<void> {
  while (next < start + count) {
    const i = next++;
    try {
      await pods.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `p${i}`, namespace, labels: { app: "bench" } },
        spec: {
          containers: [
            {
              name: "pause",
              image: "registry.k8s.io/pause:3.10",
              resources: { requests: { cpu: "100m", memory: "500Mi" } },
            },
          ],
        },
      });
      created++;
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
client.close();
console.log(JSON.stringify({ created, errors, firstError }));
