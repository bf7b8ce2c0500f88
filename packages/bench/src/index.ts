/**
 * @tributary/bench (private): the side-by-side benchmarks behind
 * `pnpm bench` and docs/benchmarks.md. The CLI is `src/cli.ts`; this entry
 * exposes the scenarios and runners so tests (and ad-hoc scripts) can run
 * one contender or one configuration directly.
 * @packageDocumentation
 */
export { buildScenarios, runScenario, type Scenario } from './scenarios/index.js';
export { runCheckpointScenario, type CheckpointScenario, type CheckpointProbe, type CheckpointRunOptions, type ProbeRun } from './harness/checkpointRunner.js';
export { runCpuScenario, type CpuScenario, type CpuRunOptions } from './harness/cpuRunner.js';
export {
  runFlowScenario,
  runFlowPoint,
  serviceBound,
  type FlowScenario,
  type FlowPoint,
  type FlowContender,
  type ServiceParams,
} from './harness/flowRunner.js';
export type * from './harness/model.js';
export { parseOptions, type BenchOptions } from './options.js';
