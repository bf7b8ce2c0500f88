import { describeValue, OptionChecker } from '@tributary/core';
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
  check.known(check.object(options), TOKENIZER_OPTIONS);
  return ngramTokenizer(tokenizerSettings(options, check));
}

/** The names of {@link NgramTokenizerOptions}. */
export const TOKENIZER_OPTIONS: readonly string[] = ['vocab', 'ngram', 'maxLength'];

/** Every tokenizer option, defaults filled in: plain data, so a session worker can build the same tokenizer. */
export type TokenizerSettings = Required<NgramTokenizerOptions>;

/** The settings these options give, bad ones reported by `check`: a builder that takes these options names itself. */
export function tokenizerSettings(options: NgramTokenizerOptions, check: OptionChecker): TokenizerSettings {
  return {
    // Ids are Uint32.
    vocab: check.optionalInteger('vocab', options.vocab, DEFAULT_EMBEDDER_CONFIG.vocab, 2, 2 ** 32),
    ngram: check.optionalInteger('ngram', options.ngram, DEFAULT_NGRAM),
    maxLength: check.optionalInteger('maxLength', options.maxLength, DEFAULT_MAX_LENGTH),
  };
}

function ngramTokenizer(settings: TokenizerSettings): NgramTokenizer {
  const scan = ngramScanner(settings);
  return (text) => scan(text).slice();
}

/**
 * Tokenizes a batch of texts at once, for a feeds builder that packs them
 * right away: the ids come back as views of one buffer kept between calls
 * (a call overwrites the previous call's), so a batch allocates no array per
 * text. The same ids as {@link createNgramTokenizer}'s.
 */
export function ngramBatchTokenizer(settings: TokenizerSettings): (texts: readonly string[]) => Uint32Array[] {
  const scan = ngramScanner(settings);
  let buffer = new Uint32Array(4096);
  const ends: number[] = [];
  return (texts) => {
    ends.length = 0;
    let used = 0;
    for (const text of texts) {
      const ids = scan(text);
      if (used + ids.length > buffer.length) buffer = grown(buffer, 2 * (used + ids.length));
      buffer.set(ids, used);
      used += ids.length;
      ends.push(used);
    }
    // Views once every text is in: a buffer grown on the way would leave earlier views on the old one.
    return ends.map((end, i) => buffer.subarray(i === 0 ? 0 : ends[i - 1], end));
  };
}

/** The tokenizer's work: a text's ids as a view of its scratch, valid until the next call. */
function ngramScanner({ vocab, ngram, maxLength }: TokenizerSettings): (text: string) => Uint32Array {
  const buckets = vocab - 1;

  // Scratch reused by every call (a call runs to completion before the next starts): the ids so far,
  // the code points of the current word, and `seen[id] === call` marking the ids this call has kept
  // (no Set and no arrays per text: tokenizing was 40% of S5's CPU per embedding). The first two
  // grow as texts need, so neither a large maxLength nor one long text is held in full.
  let ids = new Uint32Array(Math.min(maxLength, 512));
  let points = new Uint32Array(64);
  const seen = new Uint32Array(vocab);
  let call = 0;
  let count = 0;

  /** Hashes the n-grams of `points[0..length)`; false once `maxLength` ids are kept. */
  const addWord = (length: number): boolean => {
    const last = Math.max(0, length - ngram);
    for (let start = 0; start <= last; start++) {
      const id = 1 + (fnv1a(points, start, Math.min(length, start + ngram)) % buckets);
      if (seen[id] === call) continue;
      seen[id] = call;
      if (count === ids.length) ids = grown(ids, Math.min(maxLength, 2 * count));
      ids[count++] = id;
      if (count === maxLength) return false;
    }
    return true;
  };

  return (text) => {
    if (typeof text !== 'string') throw new TypeError(`the n-gram tokenizer takes a string, got ${describeValue(text)}`);
    count = 0;
    // A new mark per call; after 2^32 - 1 calls the marks start over from a cleared array.
    if (++call === 0x1_0000_0000) {
      seen.fill(0);
      call = 1;
    }
    if (isAscii(text)) {
      // NFKC leaves ASCII as it is, and its letters and digits are the only \p{L} and \p{N} in it:
      // the same ids as below, without normalizing, lowercasing or matching a string.
      let length = 0;
      for (let i = 0; i <= text.length; i++) {
        const c = i < text.length ? text.charCodeAt(i) : 0;
        const lower = c >= 65 && c <= 90 ? c + 32 : c;
        if ((lower >= 97 && lower <= 122) || (c >= 48 && c <= 57)) {
          // Room for this code point and the closing marker.
          if (length + 2 > points.length) points = grown(points, 2 * points.length);
          if (length === 0) points[length++] = LT;
          points[length++] = lower;
        } else if (length > 0) {
          points[length++] = GT;
          if (!addWord(length)) break;
          length = 0;
        }
      }
    } else {
      for (const [word] of text.normalize('NFKC').toLowerCase().matchAll(WORD)) {
        if (points.length < word.length + 2) points = grown(points, 2 * word.length + 2);
        if (!addWord(codePoints(`<${word}>`, points))) break;
      }
    }
    return ids.subarray(0, count);
  };
}

const LT = 0x3c; // '<'
const GT = 0x3e; // '>'

/** `array`'s contents in a new array of `length` elements. */
function grown(array: Uint32Array<ArrayBuffer>, length: number): Uint32Array<ArrayBuffer> {
  const bigger = new Uint32Array(length);
  bigger.set(array);
  return bigger;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Writes the code points of `text` into `out`, returning how many; n-grams count code points, not UTF-16 units. */
function codePoints(text: string, out: Uint32Array): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const point = text.codePointAt(i)!;
    if (point > 0xffff) i++;
    out[length++] = point;
  }
  return length;
}

/** FNV-1a over code points `points[start..end)`, one xor-multiply per code point. */
function fnv1a(points: Uint32Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    hash ^= points[i]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
