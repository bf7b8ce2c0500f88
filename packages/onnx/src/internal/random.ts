/** Standard normal samples (Box-Muller) from a uniform source. */
export function gaussian(uniform: () => number): () => number {
  return () => {
    const u = 1 - uniform(); // in (0, 1], so the log is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}
