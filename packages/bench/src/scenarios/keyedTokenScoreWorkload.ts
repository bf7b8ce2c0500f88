// S7's workload, in a module of its own: the hand-written two-thread peer (keyedTokenScoreThreads.ts) loads it in
// each of its threads without Tributary, and keyedTokenScore.ts builds the Tributary contenders on it.

/** Distinct keys (users) of S7. */
export const S7_KEYS = 10_000;

/** Distinct input lines: a prime, so line i and its user (i mod 10,000) do not repeat together. */
export const DISTINCT_LINES = 10_007;

/** Words per line: with them a record takes about 2 µs of CPU on the 2-core CI machine (issue 21). */
const WORDS_PER_LINE = 30;

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'do', 'gu', 'be', 'fi', 'ho', 'ja'];

let lines: readonly string[] | undefined;

/** The distinct lines, made once per process: building them is input, not the pipeline's work. */
export function distinctLines(): readonly string[] {
  lines ??= Array.from({ length: DISTINCT_LINES }, (_, i) => {
    const words = Array.from({ length: WORDS_PER_LINE }, (_, w) => {
      const x = (i * 31 + w * 7919) % 4096;
      return `${SYLLABLES[x % 16]}${SYLLABLES[(x >> 4) % 16]}${SYLLABLES[x >> 8]}`;
    });
    return JSON.stringify({ id: i, user: `user-${i % S7_KEYS}`, text: `${words.join(' ')}.` });
  });
  return lines;
}

/** S7's input: `n` JSON lines `{"id", "user", "text"}` of 30 words, over 10,000 users. */
export function* s7Lines(n: number): Generator<string> {
  const pool = distinctLines();
  for (let i = 0; i < n; i++) yield pool[i % DISTINCT_LINES] as string;
}

/** A parsed, tokenized line: its user and a score from its words. */
export interface Scored {
  readonly user: string;
  readonly score: number;
}

interface Event {
  readonly user: string;
  readonly text: string;
}

/** Parses a line and scores its tokens: FNV-1a of each lower-cased word, summed mod 1,000 (the CPU work of a record). */
export function scoreLine(line: string): Scored {
  const event = JSON.parse(line) as Event;
  const tokens = event.text.toLowerCase().split(/[^a-z]+/);
  let score = 0;
  for (const token of tokens) {
    if (token === '') continue;
    let hash = 0x811c9dc5;
    for (let i = 0; i < token.length; i++) hash = Math.imul(hash ^ token.charCodeAt(i), 0x01000193);
    score += (hash >>> 0) % 1000;
  }
  return { user: event.user, score: score % 1000 };
}

/**
 * What a record emits: its user's record count so far and its score. At
 * parallelism 2 a user's records reach the keyed stage in another order, so
 * the checksum must not depend on it: the sum of the counts and the sum of
 * the scores do not.
 */
export const emitted = (count: number, score: number): number => count * 1000 + score;
