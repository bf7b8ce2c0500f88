import { runCheckpointScenario, type CheckpointScenario } from '../harness/checkpointRunner.js';
import { runCpuScenario, type CpuScenario } from '../harness/cpuRunner.js';
import { runFlowScenario, type FlowScenario } from '../harness/flowRunner.js';
import type { RunContext } from '../harness/measure.js';
import type { ScenarioId, ScenarioResult } from '../harness/model.js';
import type { BenchOptions } from '../options.js';
import { adaptiveBatchingScenario, runPhasedScenario, type PhasedScenario } from './adaptiveBatching.js';
import { asyncServiceScenario, batchSizeSweepScenario, memoryScenario } from './asyncService.js';
import { batchOverheadScenario } from './batchOverhead.js';
import { checkpointScenario } from './checkpointCost.js';
import { edgeCostScenario } from './edgeCost.js';
import { keyedRunningSumScenario } from './keyedRunningSum.js';
import { keyedTokenScoreScenario } from './keyedTokenScore.js';
import { mainJobScenario } from './mainJob.js';
import { mapFilterMapScenario } from './mapFilterMap.js';
import { onnxEmbeddingScenario } from './onnxEmbedding.js';
import { onnxInFlightScenario } from './onnxInFlight.js';

/** Any built scenario. */
export type Scenario = CpuScenario | FlowScenario | CheckpointScenario | PhasedScenario;

/** Every scenario, built. */
export function buildScenarios(): Record<ScenarioId, Scenario> {
  return {
    S3: mapFilterMapScenario(),
    S4: keyedRunningSumScenario(),
    S2: batchOverheadScenario(),
    S1: asyncServiceScenario(),
    'S1-sweep': batchSizeSweepScenario(),
    'S1-memory': memoryScenario(),
    CK: checkpointScenario(),
    S5: onnxEmbeddingScenario(),
    S5b: onnxInFlightScenario(),
    'S4-edge': edgeCostScenario(),
    S7: keyedTokenScoreScenario(),
    S6: mainJobScenario(),
    S8: adaptiveBatchingScenario(),
  };
}

/** Runs one scenario as the options say. */
export async function runScenario(
  scenario: Scenario,
  options: BenchOptions,
  command: string,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const context: RunContext = { command, quick: options.quick, note: options.note, log };
  if (scenario.kind === 'cpu') {
    const records = options.records[scenario.id] ?? (options.quick ? scenario.records.quick : scenario.records.full);
    return runCpuScenario(scenario, {
      records,
      // Nine: on this 2-core VM a whole process can run 30-50% above the floor (see bestSample), and
      // the targets are ratios of each contender's best sample: more samples, more chances at the floor.
      repetitions: options.repetitions ?? (options.quick ? 1 : 9),
      isolate: !options.inProcess,
      ...context,
    });
  }
  if (scenario.kind === 'checkpoint') {
    return runCheckpointScenario(scenario, {
      keys: options.quick ? scenario.keys.quick : scenario.keys.full,
      // --records CK=N sets the records of the S3/S4 overhead runs; the key count is the issue's.
      records: options.records[scenario.id],
      repetitions: options.repetitions ?? (options.quick ? 1 : 5),
      ...context,
    });
  }
  if (scenario.kind === 'phased') {
    // Three: each repetition runs every contender through all phases, plus the oracle's phases alone.
    return runPhasedScenario(scenario, { records: options.records[scenario.id], repetitions: options.repetitions ?? (options.quick ? 1 : 3), ...context });
  }
  return runFlowScenario(scenario, {
    records: options.records[scenario.id],
    // S1: seven, because its figure moves with the service's timers (eight runs in a row of each
    // contender spread over 1.5 points of the bound); the median of seven holds still. The sweep
    // and the memory run: one each, as their figures are a shape and a peak.
    repetitions: options.repetitions ?? (options.quick || scenario.id !== 'S1' ? 1 : 7),
    ...context,
  });
}
