// Label selectors with apimachinery's grammar, validation and error wording (pkg/labels, v0.32):
// `a=b,c!=d,e in (f,g),h notin (i),j,!k,l>5,m<7`, plus metav1.LabelSelector conversion.

import type { LabelSelector } from "./types.js";
import type { FieldError } from "./validation.js";
import { aggregateMessage, fieldErrors, isQualifiedName, isValidLabelValue } from "./validation.js";

export type LabelOperator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export interface Requirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export type Labels = Readonly<Record<string, string>> | undefined | null;

/** A selector error carries upstream's message; the apiserver turns it into a 400. */
export class SelectorError extends Error {
  override name = "SelectorError";
}

const binaryOperators = ["in", "notin", "=", "==", "!=", "gt", "lt"];
const allOperators = [...binaryOperators, "exists", "!"];

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v < int64Min || v > int64Max ? undefined : v;
}

function validateKey(key: string, field: string): FieldError | undefined {
  const errs = isQualifiedName(key);
  return errs.length > 0 ? fieldErrors.invalid(field, key, errs.join("; ")) : undefined;
}

/** Builds a requirement, rejecting it with upstream's aggregated field errors when it is malformed. */
export function newRequirement(key: string, operator: LabelOperator, values: readonly string[]): Requirement {
  const errs: FieldError[] = [];
  const keyErr = validateKey(key, "key");
  if (keyErr) errs.push(keyErr);
  switch (operator) {
    case "in":
    case "notin":
      if (values.length === 0)
        errs.push(
          fieldErrors.invalid("values", values, "for 'in', 'notin' operators, values set can't be empty"),
        );
      break;
    case "=":
    case "==":
    case "!=":
      if (values.length !== 1)
        errs.push(
          fieldErrors.invalid("values", values, "exact-match compatibility requires one single value"),
        );
      break;
    case "exists":
    case "!":
      if (values.length !== 0)
        errs.push(
          fieldErrors.invalid("values", values, "values set must be empty for exists and does not exist"),
        );
      break;
    case "gt":
    case "lt":
      if (values.length !== 1)
        errs.push(
          fieldErrors.invalid("values", values, "for 'Gt', 'Lt' operators, exactly one value is required"),
        );
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined)
          errs.push(
            fieldErrors.invalid(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"),
          );
      });
      break;
    default:
      errs.push(fieldErrors.notSupported("operator", operator, allOperators));
  }
  values.forEach((v, i) => {
    const msgs = isValidLabelValue(v);
    if (msgs.length > 0) errs.push(fieldErrors.invalid(`values[${i}][${key}]`, v, msgs.join("; ")));
  });
  if (errs.length > 0) throw new SelectorError(aggregateMessage(errs));
  return { key, operator, values: [...values] };
}

function requirementMatches(r: Requirement, labels: Labels): boolean {
  const has = labels != null && Object.hasOwn(labels, r.key);
  const value = has ? labels![r.key]! : undefined;
  switch (r.operator) {
    case "in":
    case "=":
    case "==":
      return value !== undefined && r.values.includes(value);
    case "notin":
    case "!=":
      return value === undefined || !r.values.includes(value);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      if (value === undefined || r.values.length !== 1) return false;
      const actual = parseInt64(value);
      const bound = parseInt64(r.values[0]!);
      if (actual === undefined || bound === undefined) return false;
      return r.operator === "gt" ? actual > bound : actual < bound;
    }
  }
}

export function requirementToString(r: Requirement): string {
  const prefix = r.operator === "!" ? "!" : "";
  if (r.operator === "exists" || r.operator === "!") return prefix + r.key;
  const values = r.values.length === 1 ? r.values[0]! : [...r.values].sort().join(",");
  switch (r.operator) {
    case "in":
      return `${r.key} in (${values})`;
    case "notin":
      return `${r.key} notin (${values})`;
    case "gt":
      return `${r.key}>${values}`;
    case "lt":
      return `${r.key}<${values}`;
    default:
      return `${r.key}${r.operator}${values}`;
  }
}

export class Selector {
  /** Requirements sorted by key, as upstream keeps them. */
  readonly requirements: readonly Requirement[];
  private readonly matchesNothing: boolean;

  constructor(requirements: readonly Requirement[], matchesNothing = false) {
    this.requirements = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.matchesNothing = matchesNothing;
  }

  static everything(): Selector {
    return new Selector([]);
  }

  /** What a nil metav1.LabelSelector means: nothing matches. */
  static nothing(): Selector {
    return new Selector([], true);
  }

  matches(labels: Labels): boolean {
    if (this.matchesNothing) return false;
    return this.requirements.every((r) => requirementMatches(r, labels));
  }

  isEmpty(): boolean {
    return !this.matchesNothing && this.requirements.length === 0;
  }

  isNothing(): boolean {
    return this.matchesNothing;
  }

  /** The value a selector pins `key` to (`key=v`, `key==v`, `key in (v)`), for index lookups. */
  requiresExactMatch(key: string): string | undefined {
    const r = this.requirements.find((x) => x.key === key);
    if (r?.values.length !== 1) return undefined;
    return r.operator === "=" || r.operator === "==" || r.operator === "in" ? r.values[0] : undefined;
  }

  toString(): string {
    return this.requirements.map(requirementToString).join(",");
  }
}

export function labelSelectorFromSet(set: Readonly<Record<string, string>> | undefined | null): Selector {
  return new Selector(
    Object.entries(set ?? {}).map(([key, v]) => ({ key, operator: "=" as const, values: [v] })),
  );
}

const metaOperators: Record<string, LabelOperator> = {
  In: "in",
  NotIn: "notin",
  Exists: "exists",
  DoesNotExist: "!",
};

/** metav1.LabelSelectorAsSelector: null/undefined matches nothing, `{}` matches everything. */
export function labelSelectorFromMeta(ls: LabelSelector | null | undefined): Selector {
  if (ls == null) return Selector.nothing();
  const matchLabels = Object.entries(ls.matchLabels ?? {});
  const exprs = ls.matchExpressions ?? [];
  if (matchLabels.length + exprs.length === 0) return Selector.everything();
  const reqs: Requirement[] = matchLabels.map(([k, v]) => newRequirement(k, "=", [v]));
  for (const expr of exprs) {
    const op = metaOperators[expr.operator];
    if (op === undefined)
      throw new SelectorError(`"${expr.operator}" is not a valid label selector operator`);
    reqs.push(newRequirement(expr.key, op, expr.values ?? []));
  }
  return new Selector(reqs);
}

// ---- the string grammar ----

type Tok = "error" | "eos" | ")" | "," | "!" | "==" | "=" | ">" | "ident" | "in" | "<" | "!=" | "notin" | "(";
interface Item {
  tok: Tok;
  lit: string;
}

const literalTokens: Record<string, Tok> = {
  ")": ")",
  ",": ",",
  "!": "!",
  "==": "==",
  "=": "=",
  ">": ">",
  in: "in",
  "<": "<",
  "!=": "!=",
  notin: "notin",
  "(": "(",
};

const isWhitespace = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\n";
const isSpecial = (c: string) => "=!(),><".includes(c);

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos]!)) pos++;
    if (pos >= s.length) {
      items.push({ tok: "eos", lit: "" });
      return items;
    }
    if (isSpecial(s[pos]!)) {
      let buf = "";
      let last: Item | undefined;
      while (pos < s.length && isSpecial(s[pos]!)) {
        buf += s[pos];
        const t = literalTokens[buf];
        if (t !== undefined) last = { tok: t, lit: buf };
        else if (last) break;
        pos++;
      }
      items.push(last ?? { tok: "error", lit: `error expected: keyword found '${buf}'` });
    } else {
      let buf = "";
      while (pos < s.length && !isSpecial(s[pos]!) && !isWhitespace(s[pos]!)) buf += s[pos++];
      const t = literalTokens[buf];
      items.push({ tok: t ?? "ident", lit: buf });
    }
  }
}

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  /** In value position `in`/`notin` are plain identifiers. */
  private peek(values: boolean): Item {
    const it = this.items[this.pos]!;
    return values && (it.tok === "in" || it.tok === "notin") ? { tok: "ident", lit: it.lit } : it;
  }

  private next(values: boolean): Item {
    const it = this.peek(values);
    this.pos++;
    return it;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const { tok, lit } = this.peek(true);
      if (tok === "eos") return reqs;
      if (tok !== "ident" && tok !== "!")
        throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.parseRequirement());
      } catch (err) {
        throw new SelectorError(`unable to parse requirement: ${(err as Error).message}`);
      }
      const after = this.next(true);
      if (after.tok === "eos") return reqs;
      if (after.tok !== ",")
        throw new SelectorError(`found '${after.lit}', expected: ',' or 'end of string'`);
      const t2 = this.peek(true);
      if (t2.tok !== "ident" && t2.tok !== "!")
        throw new SelectorError(`found '${t2.lit}', expected: identifier after ','`);
    }
  }

  private parseRequirement(): Requirement {
    let it = this.next(true);
    let unary: LabelOperator | undefined;
    if (it.tok === "!") {
      unary = "!";
      it = this.next(true);
    }
    if (it.tok !== "ident") throw new Error(`found '${it.lit}', expected: identifier`);
    const key = it.lit;
    const keyErr = validateKey(key, "<nil>");
    if (keyErr) throw new Error(aggregateMessage([keyErr]));
    if (unary) return newRequirement(key, unary, []);
    const following = this.peek(true).tok;
    if (following === "eos" || following === ",") return newRequirement(key, "exists", []);
    const op = this.parseOperator();
    const values = op === "in" || op === "notin" ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, op, [...new Set(values)].sort());
  }

  private parseOperator(): LabelOperator {
    const { tok, lit } = this.next(false);
    switch (tok) {
      case "in":
        return "in";
      case "notin":
        return "notin";
      case "=":
        return "=";
      case "==":
        return "==";
      case "!=":
        return "!=";
      case ">":
        return "gt";
      case "<":
        return "lt";
      default:
        throw new Error(`found '${lit}', expected: ${binaryOperators.join(", ")}`);
    }
  }

  private parseValues(): string[] {
    const open = this.next(true);
    if (open.tok !== "(") throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.peek(true);
    if (tok === ")") {
      this.next(true);
      return [""];
    }
    if (tok !== "ident" && tok !== ",") throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
    const values = this.parseIdentifiers();
    if (this.next(true).tok !== ")") throw new Error(`found '${lit}', expected: ')'`);
    return values;
  }

  private parseIdentifiers(): string[] {
    const values: string[] = [];
    for (;;) {
      const { tok, lit } = this.next(true);
      if (tok === "ident") {
        values.push(lit);
        const t2 = this.peek(true);
        if (t2.tok === ")") return values;
        if (t2.tok !== ",") throw new Error(`found '${t2.lit}', expected: ',' or ')'`);
      } else if (tok === ",") {
        if (values.length === 0) values.push("");
        const t2 = this.peek(true).tok;
        if (t2 === ")") {
          values.push("");
          return values;
        }
        if (t2 === ",") values.push("");
      } else {
        throw new Error(`found '${lit}', expected: ',', or identifier`);
      }
    }
  }

  private parseExactValue(): string[] {
    const t = this.peek(true).tok;
    if (t === "eos" || t === ",") return [""];
    const { tok, lit } = this.next(true);
    if (tok === "ident") return [lit];
    throw new Error(`found '${lit}', expected: identifier`);
  }
}

/** Parses a `labelSelector` query parameter; throws SelectorError with upstream's message. */
export function parseLabelSelector(selector: string): Selector {
  return new Selector(new Parser(lex(selector)).parse());
}
