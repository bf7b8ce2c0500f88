/**
 * The process `sampleInChild` forks: measures one sample of one contender,
 * after its own warm-up, and sends its runs to the parent over IPC.
 */
import { buildScenarios } from '../scenarios/index.js';
import type { SampleReply, SampleRequest } from './isolation.js';
import { warmUpAndMeasure } from './cpuRunner.js';
import { collectGarbage } from './measure.js';

async function main(request: SampleRequest): Promise<SampleReply> {
  const scenario = buildScenarios()[request.scenario];
  if (scenario.kind !== 'cpu') return { ok: false, error: `scenario ${request.scenario} is not measured per record` };
  const contender = scenario.contenders.find((c) => c.id === request.contender);
  if (contender === undefined) return { ok: false, error: `scenario ${request.scenario} has no contender ${request.contender}` };
  try {
    await contender.prepare?.(request.records);
    // What prepare() left behind is not the contender's garbage. No GC after the warm-up: see WARMUP_RUNS.
    collectGarbage();
    return { ok: true, runs: await warmUpAndMeasure(contender, request.records, request.warmupRuns, request.measuredRuns) };
  } finally {
    await contender.teardown?.();
  }
}

const send = (reply: SampleReply): Promise<void> =>
  new Promise((resolve) => {
    (process.send as NonNullable<typeof process.send>)(reply, () => {
      resolve();
    });
  });

try {
  await send(await main(JSON.parse(process.argv[2] ?? '') as SampleRequest));
} catch (error) {
  await send({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
// Exit even if a contender left a handle open (a session, a timer): the parent waits for the exit.
process.exit(0);
