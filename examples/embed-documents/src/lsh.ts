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
  /** The hyperplanes' normals, one row of `dimension` per bit (band by band), drawn on the first call. */
  private planes: Float64Array | undefined;
  /** Scratch: the side of each hyperplane the current vector lies on (1 = positive). */
  private readonly sides: Uint8Array;

  constructor(readonly options: LshOptions) {
    for (const name of ['bands', 'bitsPerBand'] as const) {
      const value = options[name];
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`LSH option '${name}' must be an integer >= 1, got ${value}`);
    }
    if (options.bitsPerBand > 30) throw new RangeError(`LSH option 'bitsPerBand' must be at most 30, got ${options.bitsPerBand}`);
    this.sides = new Uint8Array(options.bands * options.bitsPerBand);
  }

  /**
   * The vector's code in each band: `bitsPerBand` bits, one per hyperplane,
   * set when the vector lies on its positive side. The hyperplanes are drawn
   * on the first call, for that vector's dimension (the model decides it);
   * every later vector must have the same dimension.
   */
  signature(vector: ArrayLike<number>): Int32Array {
    const planes = (this.planes ??= this.drawPlanes(vector.length));
    const { sides } = this;
    const count = sides.length;
    const dimension = planes.length / count;
    if (dimension !== vector.length) throw new RangeError(`LSH: a vector of dimension ${vector.length} after vectors of dimension ${dimension}`);
    // Four hyperplanes a pass over the vector, each element read once for four dot products. Each dot
    // product still sums in index order, so the bits are those of the plain loop.
    let plane = 0;
    for (; plane + 4 <= count; plane += 4) {
      const a = plane * dimension;
      const b = a + dimension;
      const c = b + dimension;
      const d = c + dimension;
      let sa = 0;
      let sb = 0;
      let sc = 0;
      let sd = 0;
      for (let i = 0; i < dimension; i++) {
        const x = vector[i]!;
        sa += planes[a + i]! * x;
        sb += planes[b + i]! * x;
        sc += planes[c + i]! * x;
        sd += planes[d + i]! * x;
      }
      sides[plane] = sa >= 0 ? 1 : 0;
      sides[plane + 1] = sb >= 0 ? 1 : 0;
      sides[plane + 2] = sc >= 0 ? 1 : 0;
      sides[plane + 3] = sd >= 0 ? 1 : 0;
    }
    for (; plane < count; plane++) {
      const a = plane * dimension;
      let side = 0;
      for (let i = 0; i < dimension; i++) side += planes[a + i]! * vector[i]!;
      sides[plane] = side >= 0 ? 1 : 0;
    }
    const { bands, bitsPerBand } = this.options;
    const codes = new Int32Array(bands);
    for (let band = 0, at = 0; band < bands; band++) {
      let bits = 0;
      for (let bit = 0; bit < bitsPerBand; bit++) bits = (bits << 1) | sides[at++]!;
      codes[band] = bits;
    }
    return codes;
  }

  private drawPlanes(dimension: number): Float64Array {
    if (dimension < 1) throw new RangeError('LSH: cannot hash an empty vector');
    const uniform = seededRandom(this.options.seed);
    // Gaussian components make the hyperplane directions uniform on the sphere (Box-Muller).
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
    const planes = new Float64Array(this.sides.length * dimension);
    for (let i = 0; i < planes.length; i++) planes[i] = gaussian();
    return planes;
  }
}

/**
 * The bucket of a band's code, `band * 2^bitsPerBand + code`: distinct across
 * bands, and a number, which keyBy hashes as it is and slots move in a column
 * of numbers. Above 2^31 keys are still distinct, hashed through their string.
 */
export function bucketKey(band: number, code: number, bitsPerBand: number): number {
  return band * 2 ** bitsPerBand + code;
}

/** The probability that two vectors of cosine similarity `cosine` share at least one band bucket. */
export function candidateProbability(cosine: number, options: Pick<LshOptions, 'bands' | 'bitsPerBand'>): number {
  const p = 1 - Math.acos(Math.max(-1, Math.min(1, cosine))) / Math.PI;
  return 1 - (1 - p ** options.bitsPerBand) ** options.bands;
}
