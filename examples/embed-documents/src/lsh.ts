import { seededRandom } from '@tributary/core';

export interface LshOptions {
  /** Independent bands; two vectors become candidates when they agree on every bit of at least one band. */
  readonly bands: number;
  /** Hyperplanes per band: more bits make buckets smaller and a candidate more likely to be a true match. */
  readonly bitsPerBand: number;
  /** Same seed, same hyperplanes (and buckets) in every subtask and every run. */
  readonly seed: number;
}

/**
 * Random-hyperplane locality-sensitive hashing (SimHash) for cosine
 * similarity: each bit says on which side of a random hyperplane a vector
 * lies, and two vectors at angle θ agree on a bit with probability 1 - θ/π.
 *
 * With `r` bits per band and `b` bands, vectors of cosine `s` share at least
 * one band bucket with probability `1 - (1 - p^r)^b`, `p = 1 - acos(s)/π`
 * ({@link candidateProbability}): high for near-duplicates, low for
 * unrelated texts, so comparing only within buckets finds almost every
 * close pair without comparing all pairs.
 */
export class RandomHyperplaneLsh {
  private planes: Float64Array[] | undefined;

  constructor(readonly options: LshOptions) {
    for (const name of ['bands', 'bitsPerBand'] as const) {
      const value = options[name];
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`LSH option '${name}' must be an integer >= 1, got ${value}`);
    }
    if (options.bitsPerBand > 30) throw new RangeError(`LSH option 'bitsPerBand' must be at most 30, got ${options.bitsPerBand}`);
  }

  /**
   * The vector's code in each band: `bitsPerBand` bits, one per hyperplane,
   * set when the vector lies on its positive side. The hyperplanes are drawn
   * on the first call, for that vector's dimension (the model decides it);
   * every later vector must have the same dimension.
   */
  signature(vector: ArrayLike<number>): Int32Array {
    const planes = (this.planes ??= this.drawPlanes(vector.length));
    if (planes[0]!.length !== vector.length) {
      throw new RangeError(`LSH: a vector of dimension ${vector.length} after vectors of dimension ${planes[0]!.length}`);
    }
    const { bands, bitsPerBand } = this.options;
    const codes = new Int32Array(bands);
    for (let band = 0; band < bands; band++) {
      let bits = 0;
      for (let bit = 0; bit < bitsPerBand; bit++) {
        const plane = planes[band * bitsPerBand + bit]!;
        let side = 0;
        for (let i = 0; i < plane.length; i++) side += plane[i]! * vector[i]!;
        bits = (bits << 1) | (side >= 0 ? 1 : 0);
      }
      codes[band] = bits;
    }
    return codes;
  }

  private drawPlanes(dimension: number): Float64Array[] {
    if (dimension < 1) throw new RangeError('LSH: cannot hash an empty vector');
    const uniform = seededRandom(this.options.seed);
    // Gaussian components make the hyperplane directions uniform on the sphere (Box-Muller).
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
    return Array.from({ length: this.options.bands * this.options.bitsPerBand }, () => Float64Array.from({ length: dimension }, gaussian));
  }
}

/** The bucket of a band's code: `<band>:<code in hex>`, distinct across bands. */
export function bucketKey(band: number, code: number): string {
  return `${band}:${code.toString(16)}`;
}

/** The probability that two vectors of cosine similarity `cosine` share at least one band bucket. */
export function candidateProbability(cosine: number, options: Pick<LshOptions, 'bands' | 'bitsPerBand'>): number {
  const p = 1 - Math.acos(Math.max(-1, Math.min(1, cosine))) / Math.PI;
  return 1 - (1 - p ** options.bitsPerBand) ** options.bands;
}
