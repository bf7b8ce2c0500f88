/** A unit vector at cosine `cosine` from the unit vector `base`, in a random direction. */
export function vectorAt(base: Float64Array, cosine: number, random: () => number): Float64Array {
  const noise = base.map(() => random() - 0.5);
  const along = noise.reduce((s, x, i) => s + x * base[i]!, 0);
  const orthogonal = noise.map((x, i) => x - along * base[i]!);
  const norm = Math.hypot(...orthogonal);
  const sine = Math.sqrt(1 - cosine * cosine);
  return base.map((x, i) => cosine * x + (sine * orthogonal[i]!) / norm);
}

/** A random unit vector. */
export function unit(dimension: number, random: () => number): Float64Array {
  const v = Float64Array.from({ length: dimension }, () => random() - 0.5);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}
