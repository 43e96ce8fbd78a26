// Resource quantities ("500m", "1.5Gi", "2e3") with apimachinery's parsing, rounding and canonical
// formatting (api/resource, v0.32). Values are held exactly as a bigint count of nano-units.

export type QuantityFormat = "DecimalExponent" | "BinarySI" | "DecimalSI";

const splitRE = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";
export const errFormatWrong = `quantities must match the regular expression '${splitRE}'`;
export const errNumeric = "unable to parse numeric part of quantity";
export const errSuffix = "unable to parse quantity's suffix";

export class QuantityError extends Error {
  override name = "QuantityError";
}

const NANO = 1_000_000_000n;
const maxInt64 = 2n ** 63n - 1n;
/** kite's own bound on decimal exponents, so "1e999999999" is an error rather than a huge allocation. */
const maxExponent = 1000;

const decimalSuffixes: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalByExponent = new Map(Object.entries(decimalSuffixes).map(([s, e]) => [e, s]));
const binaryByExponent = new Map(Object.entries(binarySuffixes).map(([s, e]) => [e, s]));

interface Suffix {
  base: 2 | 10;
  exponent: number;
  format: QuantityFormat;
}

function interpretSuffix(s: string): Suffix | undefined {
  if (Object.hasOwn(decimalSuffixes, s))
    return { base: 10, exponent: decimalSuffixes[s]!, format: "DecimalSI" };
  if (Object.hasOwn(binarySuffixes, s)) return { base: 2, exponent: binarySuffixes[s]!, format: "BinarySI" };
  if (s.length > 1 && (s[0] === "e" || s[0] === "E") && /^[+-]?[0-9]+$/.test(s.slice(1))) {
    const exponent = Number(s.slice(1));
    if (Math.abs(exponent) > maxExponent) return undefined;
    return { base: 10, exponent, format: "DecimalExponent" };
  }
  return undefined;
}

interface Split {
  positive: boolean;
  num: string;
  denom: string;
  suffix: string;
}

/** Upstream's parseQuantityString: sign, integer digits (leading zeros dropped), fraction, suffix. */
function splitQuantity(str: string): Split {
  let pos = 0;
  let positive = true;
  if (str[0] === "-") {
    positive = false;
    pos++;
  } else if (str[0] === "+") pos++;
  while (pos < str.length && str[pos] === "0") pos++;
  if (pos >= str.length) return { positive, num: "0", denom: "", suffix: "" };
  const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
  let start = pos;
  while (isDigit(str[pos])) pos++;
  const num = str.slice(start, pos) || "0";
  let denom = "";
  if (str[pos] === ".") {
    start = ++pos;
    while (isDigit(str[pos])) pos++;
    denom = str.slice(start, pos);
  }
  const suffixStart = pos;
  while (pos < str.length && "eEinumkKMGTP".includes(str[pos]!)) pos++;
  if (str[pos] === "-" || str[pos] === "+") pos++;
  while (isDigit(str[pos])) pos++;
  if (pos < str.length) throw new QuantityError(errFormatWrong);
  return { positive, num, denom, suffix: str.slice(suffixStart) };
}

const pow10 = (n: number) => 10n ** BigInt(n);
const abs = (v: bigint) => (v < 0n ? -v : v);

/** n / d rounded away from zero (d > 0). */
function divAway(n: bigint, d: bigint): bigint {
  const q = n / d;
  if (q * d === n) return q;
  return n < 0n ? q - 1n : q + 1n;
}

export class Quantity {
  /** The exact value in units of 1e-9. */
  readonly nanos: bigint;
  readonly format: QuantityFormat;
  /** The input text when upstream would echo it back unchanged. */
  private readonly text: string | undefined;

  constructor(nanos: bigint, format: QuantityFormat = "DecimalSI", text?: string) {
    this.nanos = nanos;
    this.format = format;
    this.text = text;
  }

  /** Parses a quantity string (or a JSON number, as manifests may carry `cpu: 1`). */
  static parse(input: string | number): Quantity {
    const str = typeof input === "number" ? numberText(input) : input;
    if (str.length === 0) throw new QuantityError(errFormatWrong);
    if (str === "0") return new Quantity(0n, "DecimalSI", "0");
    const { positive, num, denom, suffix } = splitQuantity(str);
    const sfx = interpretSuffix(suffix);
    if (sfx === undefined) throw new QuantityError(errSuffix);
    const digits = BigInt(num + denom);
    // value = digits * 10^-len(denom) * base^exponent, rounded away from zero to nano precision.
    let nanos: bigint;
    if (sfx.base === 2) {
      nanos = divAway(digits * NANO * 2n ** BigInt(sfx.exponent), pow10(denom.length));
    } else {
      const shift = 9 + sfx.exponent - denom.length;
      nanos = shift >= 0 ? digits * pow10(shift) : divAway(digits, pow10(-shift));
    }
    let format = sfx.format;
    if (format === "BinarySI") {
      if (nanos > maxInt64 * NANO) nanos = maxInt64 * NANO;
      if (nanos > 0n && nanos < NANO) format = "DecimalSI";
    }
    if (!positive) nanos = -nanos;
    return new Quantity(nanos, format, keepsText(num, denom, sfx) ? str : undefined);
  }

  static fromMilli(milli: bigint | number, format: QuantityFormat = "DecimalSI"): Quantity {
    return new Quantity(BigInt(milli) * 1_000_000n, format);
  }

  static fromValue(value: bigint | number, format: QuantityFormat = "DecimalSI"): Quantity {
    return new Quantity(BigInt(value) * NANO, format);
  }

  isZero(): boolean {
    return this.nanos === 0n;
  }

  sign(): -1 | 0 | 1 {
    return this.nanos === 0n ? 0 : this.nanos < 0n ? -1 : 1;
  }

  /** Whole units (bytes, cores), rounded away from zero as upstream's Value(). */
  value(): bigint {
    return divAway(this.nanos, NANO);
  }

  /** Milli-units, rounded away from zero as upstream's MilliValue(). */
  milliValue(): bigint {
    return divAway(this.nanos, 1_000_000n);
  }

  cmp(other: Quantity): -1 | 0 | 1 {
    return this.nanos === other.nanos ? 0 : this.nanos < other.nanos ? -1 : 1;
  }

  equals(other: Quantity): boolean {
    return this.nanos === other.nanos;
  }

  /** Sum; a zero operand takes the other's format, as upstream's Add does. */
  add(other: Quantity): Quantity {
    return new Quantity(this.nanos + other.nanos, this.isZero() ? other.format : this.format);
  }

  sub(other: Quantity): Quantity {
    return new Quantity(this.nanos - other.nanos, this.isZero() ? other.format : this.format);
  }

  neg(): Quantity {
    return new Quantity(-this.nanos, this.format);
  }

  toString(): string {
    return this.text ?? canonical(this.nanos, this.format);
  }

  toJSON(): string {
    return this.toString();
  }
}

export function parseQuantity(input: string | number): Quantity {
  return Quantity.parse(input);
}

/** Sum of quantities in the format of the first non-zero one. */
export function sumQuantities(qs: Iterable<Quantity>): Quantity {
  let total = new Quantity(0n);
  for (const q of qs) total = total.add(q);
  return total;
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityError(errFormatWrong);
  return String(n).replace("e+", "e");
}

/**
 * Upstream keeps the caller's string when the int64 fast path parsed it and it is already in canonical
 * shape (exponent a multiple of 3, no trailing "000", no leading zero; binary values not a multiple of 8).
 */
function keepsText(num: string, denom: string, sfx: Suffix): boolean {
  const shifted = num + denom;
  if (sfx.format === "BinarySI") {
    if (denom.length > 0) return false;
    const precision = 15 - num.length - Math.trunc((sfx.exponent * 3) / 10) - 1;
    return precision >= 0 && (BigInt(shifted) & 7n) !== 0n;
  }
  const precision = 18 - num.length - denom.length;
  const scale = sfx.exponent - denom.length;
  if (precision < 0 || scale < -9) return false;
  return scale % 3 === 0 && !shifted.endsWith("000") && shifted[0] !== "0";
}

function canonical(nanos: bigint, format: QuantityFormat): string {
  if (nanos === 0n) return "0";
  if (format === "BinarySI") {
    const small = abs(nanos) < 1024n * NANO;
    if (small || nanos % NANO !== 0n) format = "DecimalSI";
    else {
      let mantissa = nanos / NANO;
      let exponent = 0;
      while (exponent < 60 && mantissa % 1024n === 0n) {
        mantissa /= 1024n;
        exponent += 10;
      }
      return `${mantissa}${binaryByExponent.get(exponent) ?? ""}`;
    }
  }
  let mantissa = nanos;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  // Go's % truncates toward zero, so upstream lowers the exponent to a multiple of 3.
  while (exponent % 3 !== 0) {
    mantissa *= 10n;
    exponent--;
  }
  if (format === "DecimalExponent") return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`;
  // Above "E" upstream has no suffix; kite keeps the value exact by staying at E.
  while (exponent > 18) {
    mantissa *= 1000n;
    exponent -= 3;
  }
  return `${mantissa}${decimalByExponent.get(exponent)}`;
}
