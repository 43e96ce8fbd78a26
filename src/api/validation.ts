// Name and label validators and field errors, worded exactly as apimachinery's util/validation and
// util/validation/field (v0.32) so that kubectl users see the messages they know.

import type { CauseType, StatusCause } from "./types.js";

const dns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1035LabelFmt = "[a-z]([-a-z0-9]*[a-z0-9])?";
const qualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const labelValueFmt = `(${qualifiedNameFmt})?`;

const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
const dns1035LabelRe = new RegExp(`^${dns1035LabelFmt}$`);
const qualifiedNameRe = new RegExp(`^${qualifiedNameFmt}$`);
const labelValueRe = new RegExp(`^${labelValueFmt}$`);

export const DNS1123LabelMaxLength = 63;
export const DNS1123SubdomainMaxLength = 253;
export const LabelValueMaxLength = 63;

export function maxLenError(length: number): string {
  return `must be no more than ${length} characters`;
}

export function emptyError(): string {
  return "must be non-empty";
}

export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  // Upstream joins "'a', " pieces with " or ", hence the double space: "'a',  or 'b', regex ...".
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(" or ")}regex used for validation is '${fmt}')`;
}

/** Byte length as Go's len() counts it: names with non-ASCII characters are longer than they look. */
function goLen(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (goLen(value) > DNS1123LabelMaxLength) errs.push(maxLenError(DNS1123LabelMaxLength));
  if (!dns1123LabelRe.test(value)) {
    if (dns1123SubdomainRe.test(value)) errs.push("must not contain dots");
    else
      errs.push(
        regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          dns1123LabelFmt,
          "my-name",
          "123-abc",
        ),
      );
  }
  return errs;
}

export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (goLen(value) > DNS1123SubdomainMaxLength) errs.push(maxLenError(DNS1123SubdomainMaxLength));
  if (!dns1123SubdomainRe.test(value))
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        dns1123SubdomainFmt,
        "example.com",
      ),
    );
  return errs;
}

export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (goLen(value) > DNS1123LabelMaxLength) errs.push(maxLenError(DNS1123LabelMaxLength));
  if (!dns1035LabelRe.test(value))
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        dns1035LabelFmt,
        "my-name",
        "abc-123",
      ),
    );
  return errs;
}

const qualifiedNameErrMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/** Label keys, annotation keys and finalizer names: `[prefix/]name`. */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push(`prefix part ${emptyError()}`);
    else for (const msg of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${msg}`);
  } else {
    errs.push(
      `a qualified name ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    );
    return errs;
  }
  if (name.length === 0) errs.push(`name part ${emptyError()}`);
  else if (goLen(name) > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!qualifiedNameRe.test(name))
    errs.push(
      `name part ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc")}`,
    );
  return errs;
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (goLen(value) > LabelValueMaxLength) errs.push(maxLenError(LabelValueMaxLength));
  if (!labelValueRe.test(value))
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        labelValueFmt,
        "MyValue",
        "my_value",
        "12345",
      ),
    );
  return errs;
}

/** Go's strconv.Quote (what `%q` prints), which upstream uses for names and bad values in messages. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (cp === 0x20 || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

/** A path into an object as upstream prints it: `spec.containers[0].name`, `metadata.labels[app]`. */
export class FieldPath {
  private constructor(private readonly text: string) {}

  static root(name: string, ...more: string[]): FieldPath {
    return new FieldPath([name, ...more].join("."));
  }

  child(name: string, ...more: string[]): FieldPath {
    const tail = [name, ...more].join(".");
    return new FieldPath(this.text === "" ? tail : `${this.text}.${tail}`);
  }

  index(i: number): FieldPath {
    return new FieldPath(`${this.text}[${i}]`);
  }

  key(k: string): FieldPath {
    return new FieldPath(`${this.text}[${k}]`);
  }

  toString(): string {
    return this.text;
  }
}

const causeTitles: Record<string, string> = {
  FieldValueNotFound: "Not found",
  FieldValueRequired: "Required value",
  FieldValueDuplicate: "Duplicate value",
  FieldValueInvalid: "Invalid value",
  FieldValueNotSupported: "Unsupported value",
  FieldValueForbidden: "Forbidden",
  FieldValueTooLong: "Too long",
  FieldValueTooMany: "Too many",
  InternalError: "Internal error",
  FieldValueTypeInvalid: "Invalid value",
};

/** One validation failure (upstream field.Error). */
export interface FieldError {
  type: CauseType;
  field: string;
  /** The offending value; `undefined` for kinds that never print one (Required, Forbidden, ...). */
  badValue?: unknown;
  detail: string;
}

function formatBadValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return goQuote(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return JSON.stringify(value);
}

/** The part after `field: `, e.g. `Invalid value: "Foo": a lowercase RFC 1123 ...`. */
export function errorBody(e: FieldError): string {
  const title = causeTitles[e.type] ?? e.type;
  const omitsValue =
    e.type === "FieldValueRequired" ||
    e.type === "FieldValueForbidden" ||
    e.type === "FieldValueTooLong" ||
    e.type === "InternalError" ||
    e.badValue === omitValue;
  let s = omitsValue ? title : `${title}: ${formatBadValue(e.badValue)}`;
  if (e.detail.length > 0) s += `: ${e.detail}`;
  return s;
}

export function fieldErrorString(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`;
}

/** Upstream's aggregate: one message as is, several deduplicated inside `[a, b]`. */
export function aggregateMessage(errs: readonly FieldError[]): string {
  const seen = [...new Set(errs.map(fieldErrorString))];
  return seen.length === 1 ? seen[0]! : `[${seen.join(", ")}]`;
}

export function toStatusCause(e: FieldError): StatusCause {
  return { reason: e.type, message: errorBody(e), field: e.field };
}

/** Marker for errors that print no value (upstream's omitValue). */
export const omitValue: unique symbol = Symbol("omitValue");

const path = (p: FieldPath | string): string => (typeof p === "string" ? p : p.toString());

export const fieldErrors = {
  required: (p: FieldPath | string, detail = ""): FieldError => ({
    type: "FieldValueRequired",
    field: path(p),
    badValue: "",
    detail,
  }),
  invalid: (p: FieldPath | string, value: unknown, detail: string): FieldError => ({
    type: "FieldValueInvalid",
    field: path(p),
    badValue: value,
    detail,
  }),
  notSupported: (p: FieldPath | string, value: unknown, valid: readonly string[]): FieldError => ({
    type: "FieldValueNotSupported",
    field: path(p),
    badValue: value,
    detail: valid.length > 0 ? `supported values: ${valid.map(goQuote).join(", ")}` : "",
  }),
  duplicate: (p: FieldPath | string, value: unknown): FieldError => ({
    type: "FieldValueDuplicate",
    field: path(p),
    badValue: value,
    detail: "",
  }),
  notFound: (p: FieldPath | string, value: unknown): FieldError => ({
    type: "FieldValueNotFound",
    field: path(p),
    badValue: value,
    detail: "",
  }),
  forbidden: (p: FieldPath | string, detail: string): FieldError => ({
    type: "FieldValueForbidden",
    field: path(p),
    badValue: "",
    detail,
  }),
  tooLong: (p: FieldPath | string, maxLength: number): FieldError => ({
    type: "FieldValueTooLong",
    field: path(p),
    badValue: "<value omitted>",
    detail: maxLength >= 0 ? `may not be more than ${maxLength} bytes` : "value is too long",
  }),
  tooMany: (p: FieldPath | string, actual: number, max: number): FieldError => ({
    type: "FieldValueTooMany",
    field: path(p),
    badValue: actual >= 0 ? actual : omitValue,
    detail: max >= 0 ? `must have at most ${max} items` : "has too many items",
  }),
  internal: (p: FieldPath | string, err: Error): FieldError => ({
    type: "InternalError",
    field: path(p),
    badValue: null,
    detail: err.message,
  }),
  /** The value's name check failed; `msgs` are the strings from isDNS1123Subdomain and friends. */
  invalidName: (p: FieldPath | string, value: string, msgs: readonly string[]): FieldError => ({
    type: "FieldValueInvalid",
    field: path(p),
    badValue: value,
    detail: msgs.join("; "),
  }),
};
