/**
 * A small deterministic generator (mulberry32) of numbers in [0, 1): the same
 * sequence for the same seed on every platform. For reproducible jitter,
 * scripted failures, generated data and model weights — not for security.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * random(); // always the same first number for seed 42
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
