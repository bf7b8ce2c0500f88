import os from 'node:os';
import v8 from 'node:v8';
import type { Environment, RunDescription, ScenarioId } from './model.js';

/** Forces a full GC when node runs with `--expose-gc`; a no-op otherwise (tests, plain `node`). */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
}

/** Whether {@link collectGarbage} really collects. */
export function gcExposed(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

/** CPU (user + system, all threads of the process) and wall time of one call. */
export interface CpuSample<T> {
  readonly cpuNs: number;
  readonly wallNs: number;
  readonly value: T;
}

/**
 * Runs `fn` once and measures it.
 *
 * CPU comes from `process.cpuUsage()`: it counts every thread of the process,
 * so GC helper threads are charged to the contender that made the garbage,
 * and V8's compiler thread to the contender whose code it compiles.
 */
export async function measure<T>(fn: () => Promise<T>): Promise<CpuSample<T>> {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  const value = await fn();
  const wall = Number(process.hrtime.bigint() - wall0);
  const cpu = process.cpuUsage(cpu0);
  return { cpuNs: (cpu.user + cpu.system) * 1000, wallNs: wall, value };
}

/** The median; for an even count, the mean of the two middle values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * A contender's figure: its lowest sample (BenchmarkTools.jl's minimum
 * estimator; Chen and Revels, "Robust benchmarking in noisy environments",
 * 2016). Noise on a shared VM only adds: another tenant takes cache, memory
 * bandwidth and CPU from a process and never gives it more than its code
 * needs, and here it holds whole processes 30-50% above the floor (S5:
 * samples of the hand-written loop from 10,422 to 16,179 ns per embedding
 * in one run). A median moves with how many samples met a loud period: it
 * put Tributary at 0.85x and at 1.00x the hand loop in two S5 runs of the
 * same code, where the lowest samples gave 1.02x and 1.03x.
 */
export function bestSample(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('best of no samples');
  return Math.min(...samples);
}

/**
 * The order contenders run in for repetition `rep`: rotated each time, so
 * none always runs first (after a GC, on a cold cache) or last.
 */
export function rotation<T>(items: readonly T[], rep: number): T[] {
  const n = items.length;
  return items.map((_, i) => items[(i + rep) % n] as T);
}

/** What every runner is told besides its own counts: how the run was asked for, and where to log. */
export interface RunContext {
  readonly command: string;
  readonly quick: boolean;
  readonly note: string | undefined;
  readonly log: (line: string) => void;
}

/** The part of a result that says which scenario ran, when, with which command, and on what machine. */
export function describeRun(
  scenario: { readonly id: ScenarioId; readonly title: string; readonly description: string },
  context: RunContext,
): RunDescription {
  return {
    id: scenario.id,
    title: scenario.title,
    description: scenario.description,
    measuredAt: new Date().toISOString(),
    command: context.command,
    quick: context.quick,
    ...(context.note === undefined ? {} : { note: context.note }),
    environment: describeEnvironment(),
  };
}

/** Where this run happened, for the docs. */
export function describeEnvironment(): Environment {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: os.availableParallelism(),
    totalMemoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Heap in use now, in bytes (what `process.memoryUsage().heapUsed` reports, without reading the RSS). */
export function heapUsed(): number {
  return v8.getHeapStatistics().used_heap_size;
}
