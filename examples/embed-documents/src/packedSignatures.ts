import type { LshOptions } from './lsh.js';

type Bands = Pick<LshOptions, 'bands' | 'bitsPerBand'>;

/**
 * LSH signatures (one code per band) packed into 32-bit words, as many whole
 * bands as fit in a word: a bucket keeps its members' signatures in one
 * `Int32Array` and screens a candidate with a few XORs, without reading its
 * vector. A packed signature starts at a multiple of {@link words}.
 */
export class PackedSignatures {
  /** Words per packed signature. */
  readonly words: number;
  private readonly mask: number;
  /** Each band's word and bit offset in a packed signature. */
  private readonly wordOf: Int32Array;
  private readonly shiftOf: Int32Array;

  constructor(private readonly options: Bands) {
    const bandsPerWord = Math.floor(32 / options.bitsPerBand);
    this.words = Math.ceil(options.bands / bandsPerWord);
    this.mask = (1 << options.bitsPerBand) - 1; // bitsPerBand <= 30 (RandomHyperplaneLsh checks it)
    this.wordOf = Int32Array.from({ length: options.bands }, (_, band) => Math.floor(band / bandsPerWord));
    this.shiftOf = Int32Array.from({ length: options.bands }, (_, band) => (band % bandsPerWord) * options.bitsPerBand);
  }

  /** `codes`: one code per band, as `RandomHyperplaneLsh.signature` returns them. */
  pack(codes: Int32Array): Int32Array {
    if (codes.length !== this.options.bands) throw new RangeError(`a signature of ${codes.length} bands, expected ${this.options.bands}`);
    const packed = new Int32Array(this.words);
    for (let band = 0; band < codes.length; band++) packed[this.wordOf[band]!]! |= codes[band]! << this.shiftOf[band]!;
    return packed;
  }

  /** Hyperplane bits on which the signatures at `a[aAt]` and `b[bAt]` differ: each differs with probability angle/π. */
  distance(a: Int32Array, aAt: number, b: Int32Array, bAt: number): number {
    let bits = 0;
    for (let w = 0; w < this.words; w++) bits += popcount(a[aAt + w]! ^ b[bAt + w]!);
    return bits;
  }

  /**
   * Calls `visit(i)` for each of the first `count` signatures packed in
   * `members` that lies within `cutoff` bits of `signature`: one loop over a
   * bucket, since it runs for every member of every bucket a document joins.
   */
  forEachWithin(signature: Int32Array, members: Int32Array, count: number, cutoff: number, visit: (index: number) => void): void {
    for (let i = 0, at = 0; i < count; i++, at += this.words) if (this.distance(signature, 0, members, at) <= cutoff) visit(i);
  }

  /** Whether the two signatures have the same code in a band before `band` (so they met in that band's bucket first). */
  shareBandBefore(a: Int32Array, aAt: number, b: Int32Array, bAt: number, band: number): boolean {
    const { wordOf, shiftOf, mask } = this;
    for (let earlier = 0; earlier < band; earlier++) {
      const w = wordOf[earlier]!;
      if ((((a[aAt + w]! ^ b[bAt + w]!) >>> shiftOf[earlier]!) & mask) === 0) return true;
    }
    return false;
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * The signature distance above which a pair in a shared bucket can be skipped:
 * a pair at cosine `threshold` lies farther only with probability
 * `missProbability`, wherever its first shared band is. Computed exactly:
 * the shared band differs in no bit, and every other band is taken as one the
 * pair does not share (at least one bit differs), which only makes it farther.
 */
export function distanceCutoff(threshold: number, options: Bands, missProbability = 1e-4): number {
  const { bands, bitsPerBand } = options;
  const q = Math.acos(Math.max(-1, Math.min(1, threshold))) / Math.PI;
  const perBand = Array.from({ length: bitsPerBand + 1 }, (_, k) => binomial(bitsPerBand, k) * q ** k * (1 - q) ** (bitsPerBand - k));
  const shared = 1 - perBand[0]!;
  // At cosine 1 no bit ever differs: there is no band the pair does not share.
  const otherBand = shared > 0 ? perBand.map((p, k) => (k === 0 ? 0 : p / shared)) : perBand;
  let total = [1];
  for (let band = 1; band < bands; band++) total = convolve(total, otherBand);
  let tail = 0;
  for (let k = total.length - 1; k > 0; k--) {
    tail += total[k]!;
    if (tail > missProbability) return k;
  }
  return 0;
}

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

function convolve(x: readonly number[], y: readonly number[]): number[] {
  const out = new Array<number>(x.length + y.length - 1).fill(0);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < y.length; j++) out[i + j]! += x[i]! * y[j]!;
  return out;
}
