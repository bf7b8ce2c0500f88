/**
 * The little of the protobuf wire format an ONNX model needs: varints,
 * length-delimited fields (strings, bytes, nested messages) and packed
 * repeated int64. Messages are built bottom-up as byte arrays, so a nested
 * message's length is known when its parent writes it.
 */

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;

const textEncoder = new TextEncoder();

/** Accumulates the fields of one message. */
export class MessageWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  /** An int64/int32/enum field; negative values take ten bytes, as protobuf requires. */
  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.push(encodeVarint(value));
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.push(encodeVarint(value.length));
    this.push(value);
    return this;
  }

  message(field: number, value: MessageWriter): this {
    return this.bytes(field, value.finish());
  }

  /** A packed `repeated int64` field (proto3's default encoding for scalars). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const body = new MessageWriter();
    for (const value of values) body.push(encodeVarint(value));
    return this.bytes(field, body.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  private tag(field: number, wireType: number): void {
    this.push(encodeVarint((field << 3) | wireType));
  }

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
}

/** Base-128 varint of a 64-bit two's-complement integer. */
export function encodeVarint(value: number | bigint): Uint8Array {
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return Uint8Array.from(bytes);
}
