// What other workspace packages use of the main job (the benchmarks run its pipeline): the job and its inputs, not the CLI.
export { batchStats, type BatchStats } from './batchStats.js';
export type { DuplicatePair } from './BucketMatcher.js';
export { generateCorpus, type Corpus, type Doc, type PlantedPair } from './corpus.js';
export type { EmbedderChoice } from './embedders.js';
export {
  DEFAULT_LSH,
  EMBED_OPERATOR,
  JOB_NAME,
  buildNearDuplicateJob,
  findNearDuplicates,
  type NearDuplicateJobArgs,
  type NearDuplicateResult,
} from './nearDuplicates.js';
export { compareWithPlanted, type PlantedComparison } from './report.js';
