// What a list or watch asks for: a namespace, a label selector and a field selector, parsed and
// checked against the resource's selectable fields (400 with upstream's wording otherwise).
import {
  badRequest,
  checkSupportedFields,
  type FieldSelector,
  FieldSelectorError,
  type KubeObject,
  metaFields,
  parseFieldSelector,
  parseLabelSelector,
  type Selector,
  SelectorError,
} from "../../api/index.js";
import type { ResourceDef } from "../types.js";

export class Predicate {
  private constructor(
    readonly namespace: string | undefined,
    readonly labels: Selector,
    readonly fields: FieldSelector,
    private readonly getFields: (obj: KubeObject) => Record<string, string>,
  ) {}

  static parse(
    def: ResourceDef,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string },
  ): Predicate {
    try {
      const labels = parseLabelSelector(opts.labelSelector ?? "");
      const fields = parseFieldSelector(opts.fieldSelector ?? "");
      checkSupportedFields(fields, def.fields?.supported);
      const namespace = def.namespaced && opts.namespace ? opts.namespace : undefined;
      return new Predicate(namespace, labels, fields, def.fields?.get ?? metaFields);
    } catch (err) {
      if (err instanceof SelectorError || err instanceof FieldSelectorError) throw badRequest(err.message);
      throw err;
    }
  }

  /** True when only the key range (namespace) narrows the result, so counts are exact. */
  get selectsAll(): boolean {
    return this.labels.isEmpty() && this.fields.isEmpty();
  }

  /** A field's required value when the selector pins it (e.g. spec.nodeName=n1), for index lookups. */
  exactField(field: string): string | undefined {
    return this.fields.requiresExactMatch(field);
  }

  fieldsOf(obj: KubeObject): Record<string, string> {
    return this.getFields(obj);
  }

  matches(obj: KubeObject): boolean {
    if (this.namespace !== undefined && obj.metadata?.namespace !== this.namespace) return false;
    if (!this.labels.matches(obj.metadata?.labels)) return false;
    return this.fields.isEmpty() || this.fields.matches(this.getFields(obj));
  }
}
