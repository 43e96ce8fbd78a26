// The generated type tables as OpenAPI v3 component schemas, in upstream's shapes: references as
// allOf [$ref] with the field's description, IntOrString as its own component, free-form values
// as objects that preserve unknown fields. The generated models carry no text for fields that are
// references (explain shows the type's own description for those); metadata, spec and status get
// upstream's usual wording.
import type { TypeTable } from "./table.js";

type Schema = Record<string, unknown>;

const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const INT_OR_STRING_SCHEMA: Schema = {
  type: "string",
  format: "int-or-string",
  "x-kubernetes-int-or-string": true,
  description:
    "IntOrString is a type that can hold an int32 or a string. When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.",
};

/** Descriptions of the envelope fields of a kind, which the generated models carry no text for. */
function envelopeDescription(field: string, typeDescription: string): string | undefined {
  const kind = /^(\w+)/.exec(typeDescription)?.[1] ?? "object";
  if (field === "metadata") return "Standard object's metadata.";
  if (field === "spec") return `Specification of the desired behavior of the ${kind}.`;
  if (field === "status")
    return `Most recently observed status of the ${kind}. This data may not be up to date. Populated by the system. Read-only.`;
  return undefined;
}

class Converter {
  readonly components: Record<string, Schema> = {};
  private readonly pending: string[] = [];

  constructor(private readonly types: TypeTable) {}

  add(name: string): void {
    if (this.components[name] !== undefined || this.types[name] === undefined) return;
    this.components[name] = {};
    this.pending.push(name);
    while (this.pending.length > 0) this.convert(this.pending.pop()!);
  }

  private ref(name: string): Schema {
    if (name !== INT_OR_STRING && this.components[name] === undefined && this.types[name] !== undefined) {
      this.components[name] = {};
      this.pending.push(name);
    }
    if (name === INT_OR_STRING) this.components[name] = INT_OR_STRING_SCHEMA;
    return { allOf: [{ $ref: `#/components/schemas/${name}` }] };
  }

  /** The schema of a type code (see table.ts). */
  private schemaOf(code: string): Schema {
    if (code.startsWith("[]"))
      return {
        type: "array",
        items: { default: this.defaultOf(code.slice(2)), ...this.schemaOf(code.slice(2)) },
      };
    if (code.startsWith("map:"))
      return { type: "object", additionalProperties: this.schemaOf(code.slice(4)) };
    if (code.startsWith("#")) return { default: {}, ...this.ref(code.slice(1)) };
    switch (code) {
      case "byte":
        return { type: "string", format: "byte" };
      case "date-time":
      case "micro-time":
        return { type: "string", format: "date-time" };
      case "int32":
      case "int64":
        return { type: "integer", format: code };
      case "double":
        return { type: "number", format: "double" };
      case "boolean":
        return { type: "boolean" };
      case "int-or-string":
        return this.ref(INT_OR_STRING);
      case "any":
        return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
      default:
        return { type: "string" };
    }
  }

  private defaultOf(code: string): unknown {
    return code.startsWith("#") ? {} : code === "string" ? "" : undefined;
  }

  private convert(name: string): void {
    const t = this.types[name]!;
    const properties: Record<string, Schema> = {};
    for (const [field, [code, description]] of Object.entries(t.f)) {
      const s = this.schemaOf(code);
      const text = description ?? envelopeDescription(field, t.d);
      properties[field] = text === undefined ? s : { description: text, ...s };
    }
    const schema: Schema = { type: "object", description: t.d, properties };
    if (t.r !== undefined) schema.required = t.r;
    this.components[name] = schema;
  }
}

/** The component schemas of the named types and every type they reach. */
export function openApiComponents(types: TypeTable, names: string[]): Record<string, Schema> {
  const c = new Converter(types);
  for (const n of names) c.add(n);
  return c.components;
}
