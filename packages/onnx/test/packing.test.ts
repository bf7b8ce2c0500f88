import fc from 'fast-check';
import { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { packSequences, splitRows } from '../src/index.js';

describe('packSequences', () => {
  it('right-pads to the longest sequence with an attention mask', () => {
    const { ids, mask } = packSequences([[5, 6, 7], [8]]);
    expect(ids.type).toBe('int64');
    expect(ids.dims).toEqual([2, 3]);
    expect(Array.from(ids.data as BigInt64Array)).toEqual([5n, 6n, 7n, 8n, 0n, 0n]);
    expect(mask.type).toBe('float32');
    expect(mask.dims).toEqual([2, 3]);
    expect(Array.from(mask.data as Float32Array)).toEqual([1, 1, 1, 1, 0, 0]);
  });

  it('takes the element types and pad id a model wants', () => {
    const { ids, mask } = packSequences([[1], [2, 3]], { idsType: 'int32', maskType: 'int64', padId: 9 });
    expect(ids.type).toBe('int32');
    expect(Array.from(ids.data as Int32Array)).toEqual([1, 9, 2, 3]);
    expect(mask.type).toBe('int64');
    expect(Array.from(mask.data as BigInt64Array)).toEqual([1n, 0n, 1n, 1n]);
  });

  it('writes any safe integer id into int64, including negative and beyond 32 bits', () => {
    const { ids } = packSequences([[-5, 2 ** 40, 2 ** 31 - 1, -(2 ** 31)], [-1]]);
    expect(Array.from(ids.data as BigInt64Array)).toEqual([-5n, 2n ** 40n, 2n ** 31n - 1n, -(2n ** 31n), -1n, 0n, 0n, 0n]);
  });

  it('makes a one-column all-padding tensor for a batch of empty sequences', () => {
    const { ids, mask } = packSequences([[], []]);
    expect(ids.dims).toEqual([2, 1]);
    expect(Array.from(mask.data as Float32Array)).toEqual([0, 0]);
  });

  it('loses nothing: the masked positions of each row are the sequence (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 1, max: 100_000 }), { maxLength: 20 }), { minLength: 1, maxLength: 10 }), (sequences) => {
        const { ids, mask } = packSequences(sequences);
        const width = ids.dims[1]!;
        expect(width).toBe(Math.max(1, ...sequences.map((s) => s.length)));
        sequences.forEach((sequence, row) => {
          const rowIds = Array.from((ids.data as BigInt64Array).slice(row * width, (row + 1) * width), Number);
          const rowMask = Array.from((mask.data as Float32Array).slice(row * width, (row + 1) * width));
          expect(rowIds.filter((_, i) => rowMask[i] === 1)).toEqual(sequence);
          expect(rowIds.filter((_, i) => rowMask[i] === 0).every((id) => id === 0)).toBe(true);
        });
      }),
    );
  });
});

describe('splitRows', () => {
  it('splits a [batch, ...] tensor into per-row copies', () => {
    const tensor = new Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2]);
    const rows = splitRows(tensor);
    expect(rows.map((row) => Array.from(row as Float32Array))).toEqual([[1, 2], [3, 4], [5, 6]]);
    (rows[0] as Float32Array)[0] = 42;
    expect(tensor.data[0]).toBe(1);
  });

  it('keeps inner dimensions together and handles an empty batch', () => {
    const rows = splitRows(new Tensor('int32', Int32Array.of(1, 2, 3, 4, 5, 6, 7, 8), [2, 2, 2]));
    expect(rows.map((row) => Array.from(row as Int32Array))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
    expect(splitRows(new Tensor('float32', new Float32Array(0), [0, 4]))).toEqual([]);
  });
});
