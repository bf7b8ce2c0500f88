import { StreamExecutionEnvironment, type EnvironmentOptions, type JobExecutionResult } from '@tributary/core';

/** Words that carry no meaning of their own; left out of the counts. */
const STOP_WORDS = new Set('a an and the of to in it is its at by as on from what that than too all one not does'.split(' '));

export interface WordCountResult {
  /** Final count per word, most frequent first (ties alphabetical). */
  readonly counts: [word: string, count: number][];
  readonly job: JobExecutionResult;
}

/**
 * Splits lines into words, drops stop words, and keeps a running count per
 * word in keyed state (`keyBy` + `reduce`) across `parallelism` subtasks.
 */
export async function wordCount(lines: readonly string[], options: EnvironmentOptions = {}): Promise<WordCountResult> {
  // On this thread: the sink fills `latest` here, where a slot's worker would fill its own copy.
  const env = StreamExecutionEnvironment.create({ parallelism: 2, runtime: 'single-thread', ...options });
  const latest = new Map<string, number>();
  env
    .fromCollection(lines)
    .name('lines')
    .flatMap((line) => line.toLowerCase().split(/[^a-z]+/))
    .name('split')
    .filter((word) => word.length > 0 && !STOP_WORDS.has(word))
    .name('drop stop words')
    .map((word): [string, number] => [word, 1])
    .keyBy(([word]) => word)
    .reduce(([word, a], [, b]) => [word, a + b])
    .name('count')
    .addSink(([word, count]) => {
      latest.set(word, count);
    })
    .name('latest counts');
  const job = await env.execute('word count');
  const counts = [...latest].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  return { counts, job };
}
