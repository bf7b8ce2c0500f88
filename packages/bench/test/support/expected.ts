// What S3 and S4 must produce, computed from their descriptions, independently of
// the contenders (and of the hand-written loops the bench compares against).

/** S3: x -> 2x, keep when not a multiple of 3, -> +1. */
export function expectedS3(n: number): { count: number; sum: number } {
  let count = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if ((2 * i) % 3 === 0) continue;
    count++;
    sum += 2 * i + 1;
  }
  return { count, sum };
}

/** S4: records i mod 10007 keyed by value mod 1000; every record emits its key's running sum. */
export function expectedS4(n: number): { count: number; sum: number } {
  const sums: number[] = new Array<number>(1000).fill(0);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = i % 10007;
    sums[v % 1000] = (sums[v % 1000] as number) + v;
    sum += sums[v % 1000] as number;
  }
  return { count: n, sum };
}
