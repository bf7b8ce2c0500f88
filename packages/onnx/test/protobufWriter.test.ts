import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageWriter, encodeVarint } from '../src/internal/protobufWriter.js';

/** Reference varint decoder (protobuf encoding spec), independent of the writer. */
function decodeVarint(bytes: Uint8Array, offset = 0): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  let i = offset;
  for (;;) {
    const byte = bytes[i++]!;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value: BigInt.asIntN(64, value), next: i };
    shift += 7n;
  }
}

describe('encodeVarint', () => {
  it('matches the protobuf spec examples', () => {
    expect(Array.from(encodeVarint(1))).toEqual([0x01]);
    expect(Array.from(encodeVarint(150))).toEqual([0x96, 0x01]);
    expect(Array.from(encodeVarint(300))).toEqual([0xac, 0x02]);
    // Negative int64 values are ten bytes of two's complement.
    expect(Array.from(encodeVarint(-1))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  it('round-trips every int64 (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (value) => {
        const bytes = encodeVarint(value);
        expect(decodeVarint(bytes)).toEqual({ value, next: bytes.length });
      }),
    );
  });
});

describe('MessageWriter', () => {
  it('writes tags, varints, length-delimited strings and packed ints', () => {
    // The protobuf docs' example: field 1 = 150 -> 08 96 01; field 2 = "testing" -> 12 07 74 65 73 74 69 6e 67.
    const bytes = new MessageWriter().int(1, 150).string(2, 'testing').packedInts(4, [3, 270]).finish();
    expect(Buffer.from(bytes).toString('hex')).toBe('089601' + '120774657374696e67' + '2203038e02');
  });

  it('nests a message as a length-delimited field', () => {
    const inner = new MessageWriter().int(1, 150);
    expect(Buffer.from(new MessageWriter().message(3, inner).finish()).toString('hex')).toBe('1a03089601');
  });
});
