import type { Counter } from '../metrics/MetricRegistry.js';
import type { RecordStage } from '../operators/StreamOperator.js';
import { keptBy, returnedPromise } from '../operators/userFunctions.js';
import { OperatorError } from './errors.js';
import type { ChunkCollector } from './ChainOutputs.js';

/** One operator of a fused run: its function and the counters its records in and out go to. */
export interface FusedStage {
  readonly stage: RecordStage;
  readonly recordsIn: Counter;
  /** Its records out; the last stage's are counted by the output the run emits to. */
  readonly recordsOut: Counter;
  readonly description: string;
}

/**
 * Runs a fused run over `values`, writing survivors to `out`, and returns
 * how many survived. It adds to the stages' counters (`counters` holds each
 * stage's records in, then, but for the last, its records out) and leaves in
 * `failed.stage`, also when a stage throws, the stage that was running (-1:
 * none).
 */
type FusedLoop = (
  values: readonly unknown[],
  out: unknown[],
  fns: readonly ((value: unknown) => unknown)[],
  counters: readonly Counter[],
  failed: { stage: number },
  checks: FusedChecks,
) => number;

/** What the generated loop calls on an answer it cannot take as it is (see {@link compileLoop}). */
interface FusedChecks {
  /** A map's record was a Promise. */
  readonly promised: (method: 'map') => never;
  /** A filter answered neither `true` nor `false`. */
  readonly keptBy: (answer: unknown) => boolean;
}

const FUSED_CHECKS: FusedChecks = { promised: returnedPromise, keptBy };

/**
 * The input of a run of chained maps and filters (operators with a
 * `recordStage`), executed as one loop: each record goes through every stage
 * in turn, and one array of survivors goes on to the last stage's output.
 *
 * The loop is generated per run (see {@link compileLoop}) so that each call
 * site sees one user function. Where code generation is disallowed
 * (`--disallow-code-generation-from-strings`), `FusedInput.create` returns
 * undefined and the operators run unfused.
 *
 * Records in and out stay per operator, and an exception names the operator
 * whose function threw (what the chunk emitted is lost with the failed job,
 * as with any `processChunk`).
 */
export class FusedInput implements ChunkCollector<unknown> {
  private loop: FusedLoop | undefined;
  private readonly fns: ((value: unknown) => unknown)[];
  private readonly counters: Counter[];
  private readonly failed = { stage: -1 };
  /** Reused by `collect`: a record at a time allocates nothing. */
  private readonly one: unknown[] = [undefined];
  private readonly oneOut: unknown[] = [undefined];

  private constructor(
    readonly stages: readonly FusedStage[],
    /** The last stage's output (it counts that stage's records out). */
    readonly output: ChunkCollector<unknown>,
  ) {
    this.fns = stages.map((s) => s.stage.fn);
    this.counters = stages.flatMap((s, i) => (i + 1 < stages.length ? [s.recordsIn, s.recordsOut] : [s.recordsIn]));
  }

  /** A run of `stages` emitting to `output`, or undefined where loops cannot be generated. */
  static create(stages: readonly FusedStage[], output: ChunkCollector<unknown>): FusedInput | undefined {
    return codeGenerationAllowed() ? new FusedInput(stages, output) : undefined;
  }

  /** This run with `first` in front of it. */
  prepend(first: FusedStage): FusedInput {
    return new FusedInput([first, ...this.stages], this.output);
  }

  collect(value: unknown): void {
    this.one[0] = value;
    if (this.run(this.one, this.oneOut) === 1) this.output.collect(this.oneOut[0]);
  }

  collectChunk(values: readonly unknown[]): void {
    const out = new Array<unknown>(values.length);
    const n = this.run(values, out);
    out.length = n;
    if (n === 1) this.output.collect(out[0]);
    else if (n > 1) this.output.collectChunk(out);
  }

  private run(values: readonly unknown[], out: unknown[]): number {
    // Compiled on first use: runs that a predecessor absorbed (see `prepend`) never are.
    const loop = (this.loop ??= compileLoop(this.stages.map((s) => s.stage.kind)));
    try {
      return loop(values, out, this.fns, this.counters, this.failed, FUSED_CHECKS);
    } catch (error) {
      throw OperatorError.wrap(error, (this.stages[this.failed.stage] as FusedStage).description);
    }
  }
}

/**
 * Generates the loop of a run with the given stage kinds. For map, filter, map:
 *
 * ```js
 * const f0 = fns[0], f1 = fns[1], f2 = fns[2];
 * const { promised, keptBy } = checks;
 * let n = 0, s = -1, k, r0 = 0, r1 = 0, r2 = 0;
 * try {
 *   for (let i = 0; i < values.length; i++) {
 *     let v = values[i];
 *     s = 0; r0++; v = f0(v); if (v instanceof Promise) promised('map');
 *     s = 1; r1++; k = f1(v); if (k !== true && (k === false || !keptBy(k))) continue;
 *     s = 2; r2++; v = f2(v); if (v instanceof Promise) promised('map');
 *     out[n++] = v;
 *   }
 *   s = -1;
 *   return n;
 * } finally {
 *   // in0, out0 = in1, out1 = in2
 *   counters[0].count += r0; counters[1].count += r1; counters[2].count += r1;
 *   counters[3].count += r2; counters[4].count += r2;
 *   failed.stage = s;
 * }
 * ```
 *
 * Generated, not shared, so its call sites stay monomorphic and its tallies
 * live in locals (docs/internals.md). A map's Promise and a filter's answer
 * other than a boolean fail the job (async functions belong in
 * AsyncDataStream); a filter's `true` costs one comparison. The text is built only from the stage
 * kinds and indices: no user input reaches it.
 */
function compileLoop(kinds: readonly RecordStage['kind'][]): FusedLoop {
  const indices = kinds.map((_, s) => s);
  const steps = kinds.map((kind, s) =>
    kind === 'map'
      ? `s = ${s}; r${s}++; v = f${s}(v); if (v instanceof Promise) promised('map');`
      : `s = ${s}; r${s}++; k = f${s}(v); if (k !== true && (k === false || !keptBy(k))) continue;`,
  );
  // Stage s's records in are r<s>; its records out, but for the last stage, are the next stage's records in.
  const tallies = indices.map((s) => (s + 1 < kinds.length ? `counters[${2 * s}].count += r${s}; counters[${2 * s + 1}].count += r${s + 1};` : `counters[${2 * s}].count += r${s};`));
  const body = `
    const ${indices.map((s) => `f${s} = fns[${s}]`).join(', ')};
    const { promised, keptBy } = checks;
    let n = 0, s = -1, k, ${indices.map((s) => `r${s} = 0`).join(', ')};
    try {
      for (let i = 0; i < values.length; i++) {
        let v = values[i];
        ${steps.join('\n        ')}
        out[n++] = v;
      }
      s = -1;
      return n;
    } finally {
      ${tallies.join(' ')}
      failed.stage = s;
    }`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from stage kinds only, see above
  return new Function('values', 'out', 'fns', 'counters', 'failed', 'checks', body) as FusedLoop;
}

let codeGeneration: boolean | undefined;

/** Whether `new Function` works in this process (it does not under `--disallow-code-generation-from-strings`). */
function codeGenerationAllowed(): boolean {
  if (codeGeneration === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a constant probe
      codeGeneration = (new Function('return true') as () => boolean)();
    } catch {
      codeGeneration = false;
    }
  }
  return codeGeneration;
}
