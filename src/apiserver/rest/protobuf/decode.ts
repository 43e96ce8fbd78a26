// Decodes a Kubernetes protobuf request body (the "k8s\0" magic, a runtime.Unknown envelope, then
// the object's message) into the same JSON object a JSON body would give, so admission,
// validation and storage see no difference.
import type { JsonValue } from "../../../api/index.js";
import { type FieldSpec, messageSpec, TOP_LEVEL_KINDS } from "./schema.js";
import { isZeroField, ProtobufError, readFields, WIRE_LEN, WIRE_VARINT, type WireField } from "./wire.js";

export { ProtobufError } from "./wire.js";

/** The body is well formed but carries a kind or a field kite cannot decode from protobuf. */
export class ProtobufUnsupportedError extends Error {}

const MAGIC = [0x6b, 0x38, 0x73, 0x00];
const utf8 = new TextDecoder("utf-8", { fatal: true });

type JsonObject = Record<string, JsonValue>;

function text(f: WireField, where: string): string {
  if (f.wireType !== WIRE_LEN) throw new ProtobufError(`${where}: want a length-delimited string`);
  try {
    return utf8.decode(f.bytes);
  } catch {
    throw new ProtobufError(`${where}: invalid UTF-8`);
  }
}

function varint(f: WireField, where: string): bigint {
  if (f.wireType !== WIRE_VARINT) throw new ProtobufError(`${where}: want a varint`);
  return f.varint!;
}

function int(v: bigint, bits: 32 | 64, where: string): number {
  const n = Number(BigInt.asIntN(bits, v));
  if (!Number.isSafeInteger(n)) throw new ProtobufError(`${where}: ${n} is out of range`);
  return n;
}

function subFields(f: WireField, where: string): WireField[] {
  if (f.wireType !== WIRE_LEN) throw new ProtobufError(`${where}: want an embedded message`);
  return readFields(f.bytes!);
}

function decodeTime(f: WireField, where: string): string | null {
  let seconds = 0;
  for (const sub of subFields(f, where)) if (sub.number === 1) seconds = int(varint(sub, where), 64, where);
  if (seconds === 0) return null;
  const ms = seconds * 1000;
  if (!Number.isFinite(new Date(ms).getTime())) throw new ProtobufError(`${where}: time out of range`);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function decodeIntOrString(f: WireField, where: string): JsonValue {
  let type = 0;
  let intVal = 0;
  let strVal = "";
  for (const sub of subFields(f, where)) {
    if (sub.number === 1) type = int(varint(sub, where), 64, where);
    else if (sub.number === 2) intVal = int(varint(sub, where), 32, where);
    else if (sub.number === 3) strVal = text(sub, where);
  }
  return type === 1 ? strVal : intVal;
}

function decodeValue(spec: FieldSpec, f: WireField, where: string): JsonValue {
  const type = spec.type;
  if (typeof type === "object") return decodeMessage(type.message, f.bytes ?? new Uint8Array(), where, f);
  switch (type) {
    case "string":
      return text(f, where);
    case "bytes":
      if (f.wireType !== WIRE_LEN) throw new ProtobufError(`${where}: want bytes`);
      return Buffer.from(f.bytes!).toString("base64");
    case "i32":
      return int(varint(f, where), 32, where);
    case "i64":
      return int(varint(f, where), 64, where);
    case "bool":
      return varint(f, where) !== 0n;
    case "Time":
      return decodeTime(f, where);
    case "Quantity": {
      let q = "";
      for (const sub of subFields(f, where)) if (sub.number === 1) q = text(sub, where);
      return q;
    }
    case "IntOrString":
      return decodeIntOrString(f, where);
  }
}

function isZeroValue(v: JsonValue): boolean {
  if (v === null || v === "" || v === 0 || v === false) return true;
  return typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0;
}

function decodeMapEntry(spec: FieldSpec, f: WireField, where: string): [string, JsonValue] {
  let key = "";
  let value: JsonValue = spec.type === "bytes" ? "" : spec.type === "string" ? "" : null;
  for (const sub of subFields(f, where)) {
    if (sub.number === 1) key = text(sub, `${where} key`);
    else if (sub.number === 2) value = decodeValue(spec, sub, `${where}[${key}]`);
  }
  return [key, value];
}

function decodeMessage(name: string, bytes: Uint8Array, where: string, f?: WireField): JsonObject {
  if (f !== undefined && f.wireType !== WIRE_LEN)
    throw new ProtobufError(`${where}: want an embedded message`);
  const spec = messageSpec(name);
  const out: JsonObject = {};
  for (const field of readFields(bytes)) {
    const fs = spec.get(field.number);
    if (fs === undefined) {
      if (isZeroField(field)) continue;
      throw new ProtobufUnsupportedError(
        `field number ${field.number} of ${name} (at ${where || "the object"}) is not among the fields kite decodes from protobuf - send this object as application/json`,
      );
    }
    if (fs.skip) continue;
    const at = where === "" ? fs.name : `${where}.${fs.name}`;
    if (fs.map) {
      const [k, v] = decodeMapEntry(fs, field, at);
      const m = (out[fs.name] ??= {}) as JsonObject;
      m[k] = v;
    } else if (fs.repeated) {
      const list = (out[fs.name] ??= []) as JsonValue[];
      list.push(decodeValue(fs, field, `${at}[${list.length}]`));
    } else {
      const v = decodeValue(fs, field, at);
      if (fs.inline && v !== null && typeof v === "object" && !Array.isArray(v)) Object.assign(out, v);
      else if (fs.pointer || !isZeroValue(v)) out[fs.name] = v;
      else delete out[fs.name];
    }
  }
  return out;
}

/** True when the body starts with Kubernetes' protobuf magic number. */
export function hasProtobufMagic(body: Uint8Array): boolean {
  return MAGIC.every((b, i) => body[i] === b);
}

export function decodeKubernetesProtobuf(body: Uint8Array): JsonObject {
  if (!hasProtobufMagic(body))
    throw new ProtobufError('the body does not start with the "k8s\\x00" magic number');
  let apiVersion = "";
  let kind = "";
  let raw: Uint8Array = new Uint8Array();
  let contentEncoding = "";
  for (const f of readFields(body.subarray(MAGIC.length))) {
    if (f.number === 1) {
      for (const sub of subFields(f, "typeMeta")) {
        if (sub.number === 1) apiVersion = text(sub, "typeMeta.apiVersion");
        else if (sub.number === 2) kind = text(sub, "typeMeta.kind");
      }
    } else if (f.number === 2) {
      if (f.wireType !== WIRE_LEN) throw new ProtobufError("raw: want bytes");
      raw = f.bytes!;
    } else if (f.number === 3) contentEncoding = text(f, "contentEncoding");
  }
  if (contentEncoding !== "")
    throw new ProtobufUnsupportedError(
      `protobuf content encoding ${JSON.stringify(contentEncoding)} is not supported`,
    );
  const message = TOP_LEVEL_KINDS[`${apiVersion}/${kind}`];
  if (message === undefined)
    throw new ProtobufUnsupportedError(
      `kite decodes protobuf bodies only for ${Object.keys(TOP_LEVEL_KINDS).join(", ")}; ${apiVersion}/${kind} must be sent as application/json`,
    );
  return { apiVersion, kind, ...decodeMessage(message, raw, "") };
}
