// The little builders the OpenAPI documents' hand-made schemas (list kinds, and kinds without a
// generated type) are written with. Kind schemas themselves come from src/apiserver/schemas.

export type Schema = Record<string, unknown>;

export const str = (description: string): Schema => ({ type: "string", description });
export const arrayOf = (name: string, description: string): Schema => ({
  type: "array",
  items: { default: {}, allOf: [{ $ref: `#/components/schemas/${name}` }] },
  description,
});
export const free = (description: string): Schema => ({
  type: "object",
  description,
  "x-kubernetes-preserve-unknown-fields": true,
});
export const object = (
  description: string,
  properties: Record<string, Schema>,
  required?: string[],
): Schema =>
  required
    ? { type: "object", description, properties, required }
    : { type: "object", description, properties };
