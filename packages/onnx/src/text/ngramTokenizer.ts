import { OptionChecker } from '@tributary/core';
import { DEFAULT_EMBEDDER_CONFIG } from '../model/embedderModel.js';

/** Options of {@link createNgramTokenizer}. */
export interface NgramTokenizerOptions {
  /** Hash buckets, including id 0 (padding); must equal the model's `vocab`. Default 8192. */
  readonly vocab?: number;
  /** Characters per n-gram. Default 3. */
  readonly ngram?: number;
  /** Most ids kept per text; n-grams first seen after that are dropped. Default 512. */
  readonly maxLength?: number;
}

/** Turns a text into its distinct hashed n-gram ids, each in `1..vocab-1`, in order of first appearance. */
export type NgramTokenizer = (text: string) => Uint32Array;

const DEFAULT_NGRAM = 3;
const DEFAULT_MAX_LENGTH = 512;
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * Creates the tokenizer that matches the generated embedder model.
 *
 * Text is NFKC-normalised and lowercased, split into words (runs of letters
 * and digits), each word wrapped in `<` `>` boundary markers, and cut into
 * overlapping character n-grams (`<hello>` -> `<he`, `hel`, `ell`, `llo`,
 * `lo>`; n-grams count code points, not UTF-16 units). Each n-gram is
 * hashed (FNV-1a over code points, 32 bit) into `1..vocab-1`; id 0 is left
 * for padding. Each distinct id is kept once: a text is a *set* of
 * n-grams, so words every English text repeats (`the`, `and`) do not
 * dominate its embedding. Punctuation and spacing do not change the ids,
 * and one changed word changes only that word's n-grams, which is why the
 * model's cosine similarity follows the share of n-grams two texts have in
 * common. A word shorter than the n-gram, markers included, is one id.
 *
 * Gotcha: a tokenizer with a different `vocab` than the model produces ids
 * the model's table does not have (the session fails) or, if smaller,
 * silently different embeddings.
 *
 * @example
 * ```ts
 * const tokenize = createNgramTokenizer({ vocab: 8192 });
 * tokenize('Hello, world'); // Uint32Array of 10 ids
 * ```
 */
export function createNgramTokenizer(options: NgramTokenizerOptions = {}): NgramTokenizer {
  const check = new OptionChecker('createNgramTokenizer');
  const vocab = check.optionalInteger('vocab', options.vocab, DEFAULT_EMBEDDER_CONFIG.vocab, 2);
  const ngram = check.optionalInteger('ngram', options.ngram, DEFAULT_NGRAM);
  const maxLength = check.optionalInteger('maxLength', options.maxLength, DEFAULT_MAX_LENGTH);
  const buckets = vocab - 1;

  return (text) => {
    const ids: number[] = [];
    // The array keeps first-appearance order and converts to a typed array far faster than the Set would.
    const seen = new Set<number>();
    const points: number[] = [];
    for (const [word] of text.normalize('NFKC').toLowerCase().matchAll(WORD)) {
      const length = codePoints(`<${word}>`, points);
      const last = Math.max(0, length - ngram);
      for (let start = 0; start <= last; start++) {
        const id = 1 + (fnv1a(points, start, Math.min(length, start + ngram)) % buckets);
        if (seen.has(id)) continue;
        seen.add(id);
        ids.push(id);
        if (ids.length === maxLength) return Uint32Array.from(ids);
      }
    }
    return Uint32Array.from(ids);
  };
}

/** Writes the code points of `text` into `out`, returning how many; n-grams count code points, not UTF-16 units. */
function codePoints(text: string, out: number[]): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const point = text.codePointAt(i)!;
    if (point > 0xffff) i++;
    out[length++] = point;
  }
  return length;
}

/** FNV-1a over code points `points[start..end)`, one xor-multiply per code point. */
function fnv1a(points: readonly number[], start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    hash ^= points[i]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
