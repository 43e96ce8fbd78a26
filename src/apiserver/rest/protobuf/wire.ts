// Protocol-buffer wire reading (varints, length-delimited fields) for Kubernetes' protobuf bodies.
// Only decoding is needed: kite answers in JSON, which client-go accepts by the reply's Content-Type.

export class ProtobufError extends Error {}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export interface WireField {
  number: number;
  wireType: number;
  /** The varint value (WIRE_VARINT), as a 64-bit two's-complement BigInt. */
  varint?: bigint;
  /** The payload of a length-delimited or fixed-width field. */
  bytes?: Uint8Array;
}

export class WireReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new ProtobufError("unexpected end of data in a varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new ProtobufError("varint longer than 10 bytes");
  }

  private take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.buf.length)
      throw new ProtobufError(`field length ${n} runs past the end of the data`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  field(): WireField {
    const key = this.varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (number === 0) throw new ProtobufError("field number 0 is not allowed");
    switch (wireType) {
      case WIRE_VARINT:
        return { number, wireType, varint: this.varint() };
      case WIRE_FIXED64:
        return { number, wireType, bytes: this.take(8) };
      case WIRE_LEN: {
        const len = this.varint();
        if (len > BigInt(this.buf.length))
          throw new ProtobufError(`field length ${len} runs past the end of the data`);
        return { number, wireType, bytes: this.take(Number(len)) };
      }
      case WIRE_FIXED32:
        return { number, wireType, bytes: this.take(4) };
      default:
        throw new ProtobufError(`unsupported wire type ${wireType} for field ${number}`);
    }
  }
}

/** All fields of one message, in order. */
export function readFields(buf: Uint8Array): WireField[] {
  const reader = new WireReader(buf);
  const out: WireField[] = [];
  while (!reader.done()) out.push(reader.field());
  return out;
}

/** A field that carries nothing: what gogo-protobuf writes for Go zero values of non-pointer fields. */
export function isZeroField(f: WireField): boolean {
  if (f.wireType === WIRE_VARINT) return f.varint === 0n;
  if (f.wireType === WIRE_LEN) return f.bytes!.length === 0;
  return f.bytes!.every((b) => b === 0);
}
