// Adoption and release as upstream's ControllerRefManager: an owner claims the objects its
// selector matches that have no controller, and lets go of the ones it controls that no longer
// match. Both writes are merge patches carrying the object's resourceVersion, so a concurrent
// change fails with 409 and the reconcile is retried on fresh state.
import { isStatusError, type KubeObject, type Selector } from "../../api/index.js";
import type { ResourceClient } from "../../client/index.js";
import { controllerRef, ownerRefTo } from "./pods.js";

export interface ClaimOptions {
  owner: KubeObject;
  ownerApiVersion: string;
  ownerKind: string;
  selector: Selector;
  /** The client of the claimed kind, in the owner's namespace. */
  client: ResourceClient;
  /** Re-reads the owner from the apiserver: adoption is refused if it changed or is going away. */
  canAdopt(): Promise<boolean>;
}

/** The objects the owner controls after adopting and releasing; writes through opts.client. */
export async function claimObjects(objects: KubeObject[], opts: ClaimOptions): Promise<KubeObject[]> {
  const uid = opts.owner.metadata?.uid;
  const claimed: KubeObject[] = [];
  let adoptionChecked: boolean | undefined;
  for (const obj of objects) {
    const ref = controllerRef(obj);
    const matches = opts.selector.matches(obj.metadata?.labels);
    if (ref !== undefined) {
      if (ref.uid !== uid) continue;
      if (matches) {
        claimed.push(obj);
      } else if (!obj.metadata?.deletionTimestamp && !opts.owner.metadata?.deletionTimestamp) {
        await patchOwners(
          opts.client,
          obj,
          (obj.metadata?.ownerReferences ?? []).filter((r) => r.uid !== uid),
        );
      }
      continue;
    }
    if (!matches || obj.metadata?.deletionTimestamp || opts.owner.metadata?.deletionTimestamp) continue;
    adoptionChecked ??= await opts.canAdopt();
    if (!adoptionChecked) continue;
    const owners = [
      ...(obj.metadata?.ownerReferences ?? []),
      ownerRefTo(opts.owner, opts.ownerApiVersion, opts.ownerKind),
    ];
    const adopted = await patchOwners(opts.client, obj, owners);
    if (adopted !== undefined) claimed.push(adopted);
  }
  return claimed;
}

/** Undefined when the object is gone: nothing left to adopt or release. */
async function patchOwners(
  client: ResourceClient,
  obj: KubeObject,
  ownerReferences: unknown[],
): Promise<KubeObject | undefined> {
  try {
    return await client.patch(obj.metadata?.name ?? "", "merge", {
      metadata: { resourceVersion: obj.metadata?.resourceVersion, ownerReferences },
    });
  } catch (err) {
    if (isStatusError(err) && err.code === 404) return undefined;
    throw err;
  }
}

/** canAdopt for owners: the fresh copy must be the same object and not being deleted. */
export async function ownerStillValid(client: ResourceClient, owner: KubeObject): Promise<boolean> {
  try {
    const fresh = await client.get(owner.metadata?.name ?? "");
    return fresh.metadata?.uid === owner.metadata?.uid && !fresh.metadata?.deletionTimestamp;
  } catch (err) {
    if (isStatusError(err) && err.code === 404) return false;
    throw err;
  }
}
