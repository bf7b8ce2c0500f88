import { defineJob, StreamExecutionEnvironment, type JobExecutionResult, type Runtime } from '@tributary/core';

/** Words that carry no meaning of their own; left out of the counts. */
const STOP_WORDS = new Set('a an and the of to in it is its at by as on from what that than too all one not does'.split(' '));

/** What the job is built from: plain data, so that every task slot builds the same graph. */
export interface WordCountArgs {
  readonly lines: readonly string[];
  /** Subtasks of every operator; above 1, one task slot (worker thread) each. Default 2. */
  readonly parallelism?: number;
  /** Default: task slots when `parallelism` is above 1, else this thread. */
  readonly runtime?: Runtime;
}

export interface WordCountResult {
  /** Final count per word, most frequent first (ties alphabetical). */
  readonly counts: [word: string, count: number][];
  readonly job: JobExecutionResult;
}

/**
 * The job module: splits lines into words, drops stop words, and keeps a
 * running count per word in keyed state (`keyBy` + `reduce`) across
 * `parallelism` subtasks. Every task slot imports this module and builds the
 * same graph; the running counts are the stream to collect.
 */
export const wordCountJob = defineJob({
  module: import.meta.url,
  build: (args: WordCountArgs) =>
    StreamExecutionEnvironment.create({ parallelism: args.parallelism ?? 2, ...(args.runtime === undefined ? {} : { runtime: args.runtime }) })
      .fromCollection(args.lines)
      .name('lines')
      .flatMap((line) => line.toLowerCase().split(/[^a-z]+/))
      .name('split')
      .filter((word) => word.length > 0 && !STOP_WORDS.has(word))
      .name('drop stop words')
      .map((word): [string, number] => [word, 1])
      .keyBy(([word]) => word)
      .reduce(([word, a], [, b]) => [word, a + b])
      .name('count'),
});

/** Runs {@link wordCountJob} and returns each word's final count with the job's result. */
export async function wordCount(args: WordCountArgs): Promise<WordCountResult> {
  const { records, result } = await wordCountJob.executeAndCollectWithResult(args, { jobName: 'word count' });
  // A word's running counts all come from the subtask that owns its key, in order: the last is its total.
  const counts = [...new Map(records)].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  return { counts, job: result };
}
