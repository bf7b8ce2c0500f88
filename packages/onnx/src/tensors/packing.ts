import { OptionChecker } from '@tributary/core';
import { Tensor } from 'onnxruntime-node';

/** Options of {@link packSequences}. */
export interface PackSequencesOptions {
  /** Element type of the ids tensor. Default `'int64'` (what most token models take). */
  readonly idsType?: 'int64' | 'int32';
  /** Element type of the mask tensor. Default `'float32'`; BERT-style exports often want `'int64'`. */
  readonly maskType?: 'float32' | 'int64' | 'int32';
  /** Id written into padding positions. Default 0. */
  readonly padId?: number;
}

const PACK_OPTIONS = ['idsType', 'maskType', 'padId'];

/** A batch of variable-length sequences as two [batch, sequence] tensors. */
export interface PackedSequences {
  readonly ids: Tensor;
  /** 1 where `ids` holds a real token, 0 in padding. */
  readonly mask: Tensor;
}

/**
 * Packs variable-length id sequences into one right-padded [batch, sequence]
 * ids tensor and its attention mask.
 *
 * The sequence dimension is the batch's longest sequence, and at least 1 so
 * a batch of empty sequences still makes a valid tensor (its rows are all
 * padding, mask 0). Use it in a `feeds` builder of {@link onnxBatchFunction}
 * for any model that takes ids plus an attention mask.
 *
 * @example
 * ```ts
 * const { ids, mask } = packSequences([[5, 6, 7], [8]], { maskType: 'int64' });
 * // ids: [[5, 6, 7], [8, 0, 0]], mask: [[1, 1, 1], [1, 0, 0]]
 * ```
 */
export function packSequences(
  sequences: readonly ArrayLike<number>[],
  options: PackSequencesOptions = {},
): PackedSequences {
  const check = new OptionChecker('packSequences');
  check.known(check.object(options), PACK_OPTIONS);
  check.optionalOneOf('idsType', options.idsType, ['int64', 'int32']);
  check.optionalOneOf('maskType', options.maskType, ['float32', 'int64', 'int32']);
  check.optionalInteger('padId', options.padId, 0, 0);
  const batch = sequences.length;
  let length = 1;
  for (const sequence of sequences) length = Math.max(length, sequence.length);
  const dims = [batch, length];
  const size = batch * length;
  const padId = options.padId ?? 0;

  const ids = options.idsType === 'int32' ? new Int32Array(size) : new BigInt64Array(size);
  const write = ids instanceof Int32Array ? int32Writer(ids) : int64Writer(ids);
  const maskType = options.maskType ?? 'float32';
  const mask = maskType === 'float32' ? new Float32Array(size) : maskType === 'int32' ? new Int32Array(size) : new BigInt64Array(size);

  sequences.forEach((sequence, row) => {
    const offset = row * length;
    for (let i = 0; i < length; i++) write(offset + i, i < sequence.length ? sequence[i]! : padId);
    if (mask instanceof BigInt64Array) mask.fill(1n, offset, offset + sequence.length);
    else mask.fill(1, offset, offset + sequence.length);
  });

  return {
    ids: ids instanceof Int32Array ? new Tensor('int32', ids, dims) : new Tensor('int64', ids, dims),
    mask:
      mask instanceof Float32Array
        ? new Tensor('float32', mask, dims)
        : mask instanceof Int32Array
          ? new Tensor('int32', mask, dims)
          : new Tensor('int64', mask, dims),
  };
}

function int32Writer(target: Int32Array): (index: number, value: number) => void {
  return (index, value) => {
    target[index] = value;
  };
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Writes ids into an int64 array. Creating a BigInt per element costs more
 * than the rest of packing together, so int32-range values on little-endian
 * hosts go straight into the low and high 32-bit words.
 */
function int64Writer(target: BigInt64Array): (index: number, value: number) => void {
  const words = new Int32Array(target.buffer, target.byteOffset, target.length * 2);
  return (index, value) => {
    if (LITTLE_ENDIAN && (value | 0) === value) {
      words[2 * index] = value;
      words[2 * index + 1] = value < 0 ? -1 : 0;
    } else {
      target[index] = BigInt(value);
    }
  };
}

/**
 * Splits a [batch, ...] output tensor into one typed array per batch row.
 *
 * Each row is a copy, so a record's output does not keep the whole batch's
 * buffer alive. The output splitter of most batch models is this plus a map.
 *
 * @example
 * ```ts
 * const rows = splitRows(outputs.embedding) as Float32Array[];
 * ```
 */
export function splitRows(tensor: Tensor): Tensor.DataType[] {
  const [batch = 0] = tensor.dims;
  const data = tensor.data;
  const rowSize = batch === 0 ? 0 : data.length / batch;
  const rows: Tensor.DataType[] = [];
  for (let row = 0; row < batch; row++) rows.push(data.slice(row * rowSize, (row + 1) * rowSize));
  return rows;
}
