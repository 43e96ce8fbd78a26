// The compact form the generated schema tables take: per type a description, its required fields
// and each field as [type code, description]. Type codes: string, byte, date-time, micro-time,
// int32, int64, double, boolean, int-or-string, any (free-form), "[]<code>" (array),
// "map:<code>" (string-keyed map) and "#<schema name>" (another type of the tables).

export type FieldEntry = [code: string, description?: string];

export interface TypeEntry {
  /** Description. */
  d: string;
  /** Required fields. */
  r?: string[];
  /** Fields by JSON name. */
  f: Record<string, FieldEntry>;
}

export type TypeTable = Record<string, TypeEntry>;
