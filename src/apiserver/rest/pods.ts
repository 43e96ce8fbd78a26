// Pod subresources: binding (the scheduler's assignment to a node), eviction (a delete that will
// honour PodDisruptionBudgets once they are modelled) and log (served by a pluggable source until
// a kubelet exists).
import {
  badRequest,
  conflict,
  fieldErrors,
  invalid,
  isObject,
  type KubeObject,
  serviceUnavailable,
} from "../../api/index.js";
import { decodeObjectBody } from "./body.js";
import { type Call, type Env, rfc3339, withType } from "./context.js";
import { deleteOne, deleteOptionsOf } from "./delete.js";
import { dryRunOf } from "./options.js";
import { successStatus, writeBody } from "./respond.js";
import { checkTypeMeta } from "./write.js";

export async function bindPod(env: Env, call: Call, body: Buffer): Promise<void> {
  const { rr } = call;
  const binding = decodeObjectBody(call.req.headers["content-type"], body) as KubeObject;
  checkTypeMeta(rr.def, binding, "Binding", "v1");
  const bindingName = binding.metadata?.name;
  if (bindingName && bindingName !== rr.name)
    throw badRequest("name in URL does not match name in Binding object");
  const target = isObject(binding.target) ? binding.target : {};
  const errs = [];
  if (target.kind !== undefined && target.kind !== "" && target.kind !== "Node")
    errs.push(fieldErrors.notSupported("target.kind", target.kind, ["Node", "<empty>"]));
  if (typeof target.name !== "string" || target.name === "") errs.push(fieldErrors.required("target.name"));
  if (errs.length > 0) throw invalid("Binding", rr.name!, errs);
  const node = target.name as string;
  const dryRun = dryRunOf(rr.query, "CreateOptions");
  const gr = { resource: "pods/binding" };
  const assign = (pod: KubeObject): KubeObject => {
    const uid = binding.metadata?.uid;
    if (uid && uid !== pod.metadata?.uid)
      throw conflict(
        gr,
        rr.name!,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata?.uid}`,
      );
    if (pod.metadata?.deletionTimestamp)
      throw conflict(gr, rr.name!, `pod ${rr.name} is being deleted, cannot be assigned to a host`);
    if (pod.spec?.nodeName)
      throw conflict(gr, rr.name!, `pod ${rr.name} is already assigned to node "${pod.spec.nodeName}"`);
    const out = structuredClone(pod);
    out.spec = { ...(out.spec ?? {}), nodeName: node };
    const annotations = binding.metadata?.annotations;
    if (annotations && Object.keys(annotations).length > 0)
      out.metadata = {
        ...out.metadata,
        annotations: { ...(out.metadata?.annotations ?? {}), ...annotations },
      };
    const status = { ...(out.status ?? {}) };
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(
      (c: { type?: string }) => c?.type !== "PodScheduled",
    );
    conditions.push({
      type: "PodScheduled",
      status: "True",
      lastProbeTime: null,
      lastTransitionTime: rfc3339(env.now()),
    });
    status.conditions = conditions;
    out.status = status;
    return out;
  };
  if (dryRun) assign(await env.store.get(rr.def, rr.namespace, rr.name!));
  else await env.store.guaranteedUpdate(rr.def, rr.namespace, rr.name!, assign);
  writeBody(call.res, 201, successStatus(201));
}

export async function evictPod(env: Env, call: Call, body: Buffer): Promise<void> {
  const { rr } = call;
  const eviction = decodeObjectBody(call.req.headers["content-type"], body) as KubeObject;
  const version = eviction.apiVersion === "policy/v1beta1" ? "policy/v1beta1" : "policy/v1";
  checkTypeMeta(rr.def, eviction, "Eviction", version);
  const evictionName = eviction.metadata?.name;
  if (evictionName && evictionName !== rr.name)
    throw badRequest("name in URL does not match name in Eviction object");
  const deleteOptions = isObject(eviction.deleteOptions) ? eviction.deleteOptions : undefined;
  const o = deleteOptionsOf(rr.query, deleteOptions);
  o.dryRun = o.dryRun || dryRunOf(rr.query, "CreateOptions");
  await deleteOne(env, rr.def, rr.namespace, rr.name!, o);
  writeBody(call.res, 201, successStatus(201));
}

export async function podLogs(env: Env, call: Call): Promise<void> {
  const { rr } = call;
  const pod = withType(rr.def, await env.store.get(rr.def, rr.namespace, rr.name!));
  if (!pod.spec?.nodeName) throw badRequest(`pod ${rr.name} does not have a host assigned`);
  if (env.opts.podLogs === undefined)
    throw serviceUnavailable(
      `no kubelet is available to serve the logs of pod ${rr.name} on node ${pod.spec.nodeName} yet`,
    );
  await env.opts.podLogs(pod, rr.query, call.res);
}
