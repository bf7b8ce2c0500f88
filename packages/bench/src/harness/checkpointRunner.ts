import { keepChecksum, verifyChecksums } from './checksums.js';
import { runCpuScenario, type CpuScenario } from './cpuRunner.js';
import { collectGarbage, describeRun, median, rotation, type RunContext } from './measure.js';
import { contenderInfo, type Checksum, type CheckpointProbeResult, type CheckpointScenarioResult, type Contender, type CpuScenarioResult, type ScenarioId, type Target } from './model.js';
import { evaluateTargets, figureOf } from './targets.js';

/** What a checkpoint probe reports for one run: it times its own critical part. */
export interface ProbeRun extends Checksum {
  readonly durationMs: number;
  /** Bytes stored or serialized, when the probe produces any. */
  readonly sizeBytes?: number;
}

/** One way of taking (part of) a checkpoint of `keys` keys: the params are the key count. */
export type CheckpointProbe = Contender<number, ProbeRun>;

/** CK: checkpoint probes over a fixed key count, then the checkpointing overhead on CPU pipelines. */
export interface CheckpointScenario {
  readonly kind: 'checkpoint';
  readonly id: ScenarioId;
  readonly title: string;
  readonly description: string;
  readonly keys: { readonly full: number; readonly quick: number };
  readonly intervalMs: number;
  /** The probe the others' checksums are checked against. */
  readonly baseline: string;
  readonly probes: readonly CheckpointProbe[];
  /** CPU scenarios run after the probes, each comparing a pipeline without and with checkpointing. */
  readonly overhead: readonly CpuScenario[];
  readonly targets: readonly Target[];
}

export interface CheckpointRunOptions extends RunContext {
  readonly keys: number;
  /** Records of every overhead pipeline; default: its own full or quick count. */
  readonly records: number | undefined;
  readonly repetitions: number;
}

/**
 * Runs the probes: one warm-up run each, then `repetitions` rounds in a
 * rotated order, each run after a forced GC (a probe times its own critical
 * part, so no other contender's garbage should land in it); medians. A
 * probe whose snapshot holds other keys or values than the baseline's fails
 * the scenario. Then runs each overhead part with the CPU runner.
 */
export async function runCheckpointScenario(scenario: CheckpointScenario, options: CheckpointRunOptions): Promise<CheckpointScenarioResult> {
  const { keys, repetitions, log } = options;
  const probes = scenario.probes;
  const durations = new Map<string, number[]>(probes.map((p) => [p.id, []]));
  const sizes = new Map<string, number | undefined>();
  const checksums = new Map<string, Checksum>();
  log(`${scenario.id} ${scenario.title}: ${keys.toLocaleString('en-US')} keys, ${repetitions} repetitions`);
  try {
    for (const p of probes) await p.prepare?.(keys);
    for (const p of probes) await p.run(keys);
    for (let rep = 0; rep < repetitions; rep++) {
      const line: string[] = [];
      for (const p of rotation(probes, rep)) {
        collectGarbage();
        const run = await p.run(keys);
        durations.get(p.id)?.push(run.durationMs);
        sizes.set(p.id, run.sizeBytes);
        keepChecksum(checksums, scenario.id, p.id, { count: run.count, sum: run.sum });
        line.push(`${p.id} ${run.durationMs.toFixed(1)} ms${run.sizeBytes === undefined ? '' : ` ${run.sizeBytes} B`}`);
      }
      log(`  rep ${rep + 1}: ${line.join(', ')}`);
    }
  } finally {
    for (const p of probes) await p.teardown?.();
  }
  verifyChecksums(scenario.id, checksums, scenario.baseline);
  const results: CheckpointProbeResult[] = probes.map((p) => {
    const samples = durations.get(p.id) ?? [];
    const checksum = checksums.get(p.id);
    if (checksum === undefined || samples.length === 0) throw new Error(`${scenario.id}: ${p.id} was never measured`);
    return {
      ...contenderInfo(p),
      durationMs: median(samples),
      durationSamples: samples,
      sizeBytes: sizes.get(p.id),
      checksum,
    };
  });

  const overhead: CpuScenarioResult[] = [];
  for (const part of scenario.overhead) {
    const records = options.records ?? (options.quick ? part.records.quick : part.records.full);
    overhead.push(
      await runCpuScenario(part, {
        records,
        repetitions,
        // The figure is a ratio of two runs of one job, without and with checkpoints: in one
        // process both halves meet the same JIT state, which is all the ratio needs.
        isolate: false,
        command: options.command,
        quick: options.quick,
        note: options.note,
        log,
      }),
    );
  }

  return {
    kind: 'checkpoint',
    ...describeRun(scenario, options),
    keys,
    intervalMs: scenario.intervalMs,
    repetitions,
    probes: results,
    overhead,
    targets: evaluateTargets(scenario.targets, (id) => figureOf(results, id, (p) => p.durationMs)),
  };
}
