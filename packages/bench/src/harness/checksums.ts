import type { Checksum } from './model.js';

/**
 * Keeps a contender's checksum for {@link verifyChecksums}, and throws when
 * it differs from what an earlier measured run of the same contender gave: a
 * benchmark that does different work from run to run measures nothing.
 */
export function keepChecksum(checksums: Map<string, Checksum>, scenario: string, id: string, checksum: Checksum): void {
  const earlier = checksums.get(id);
  if (earlier !== undefined) checkChecksum(`${scenario}: ${id}, against its earlier runs`, earlier, checksum);
  checksums.set(id, checksum);
}

function sameChecksum(a: Checksum, b: Checksum): boolean {
  return a.count === b.count && a.sum === b.sum;
}

/** Throws, naming `what`, when `got` is not `expected`. */
export function checkChecksum(what: string, expected: Checksum, got: Checksum): void {
  if (!sameChecksum(got, expected)) {
    throw new Error(`${what}: count ${got.count} sum ${got.sum}, expected count ${expected.count} sum ${expected.sum}`);
  }
}

/** Throws when any contender's checksum differs from the baseline's (or, without one, from the first). */
export function verifyChecksums(scenario: string, checksums: ReadonlyMap<string, Checksum>, baseline: string): void {
  const reference = checksums.get(baseline) ?? checksums.values().next().value;
  if (reference === undefined) return;
  const wrong = [...checksums].filter(([, c]) => !sameChecksum(c, reference));
  if (wrong.length > 0) {
    const detail = wrong.map(([id, c]) => `${id} count ${c.count} sum ${c.sum}`).join('; ');
    throw new Error(`${scenario}: contenders disagree with ${baseline} (count ${reference.count}, sum ${reference.sum}): ${detail}`);
  }
}
