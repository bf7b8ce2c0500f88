/** What travels between the main thread (SlotHost) and a slot's worker (between two slots: peerMessages.ts). */
import type { MessagePort } from 'node:worker_threads';
import type { LogFields, LogLevel } from '../../logging/Logger.js';
import type { MetricVariables } from '../../metrics/MetricRegistry.js';
import type { HistogramSnapshot, HistogramTotals } from '../../metrics/Histogram.js';
import type { SubtaskRestore } from '../checkpoint/restoreAssignment.js';
import type { JobGraphView } from '../JobGraphView.js';
import type { TaskStatus } from '../JobWatchdog.js';
import type { TaskCommand, TaskId, TaskReport } from '../TaskGateway.js';

/** What a slot starts from (the `run` message): plain data and ports. */
export interface SlotWorkerData {
  /** The job module's URL and the definition's ordinal in it (see `defineJob`). */
  readonly module: string;
  readonly ordinal: number;
  readonly args: unknown;
  /** Whether the job collects its stream (`executeAndCollect`): the slot adds the same sink. */
  readonly collect: boolean;
  readonly slot: number;
  readonly slots: number;
  readonly attempt: number;
  /** The graph as the main thread built it: the slot's must be the same. */
  readonly view: JobGraphView;
  readonly jobName: string;
  readonly jobId: string;
  readonly chunkSize: number;
  readonly channelCapacity: number;
  readonly closeTimeoutMs: number;
  readonly storesSnapshots: boolean;
  /** Restored state of this slot's subtasks, by operator id. */
  readonly restored: ReadonlyMap<string, SubtaskRestore> | undefined;
  readonly restoredFrom: string | undefined;
  /** Peer slot -> the port to it. */
  readonly ports: ReadonlyMap<number, MessagePort>;
}

/** What the main thread sends a slot's thread. */
export type ToSlot =
  /** Start a slot of a new attempt; the ports in `data` travel in the transfer list. */
  | { readonly kind: 'run'; readonly data: SlotWorkerData }
  | { readonly kind: 'command'; readonly to: TaskId; readonly command: TaskCommand }
  /** The attempt stops: cancel every task, wake every waiter. */
  | { readonly kind: 'stop'; readonly reason: unknown };

/** One metric's current value, with what identifies it (see `MetricEntry`). */
export interface MetricSample {
  readonly id: string;
  readonly name: string;
  readonly variables: MetricVariables;
  readonly value:
    | { readonly kind: 'counter' | 'gauge'; readonly value: number }
    | { readonly kind: 'histogram'; readonly snapshot: HistogramSnapshot; readonly totals: HistogramTotals };
}

/** What a slot sends the main thread. */
export type FromSlot =
  | { readonly kind: 'report'; readonly report: TaskReport }
  /** Its metrics and task statuses: at least once a second, and last before `done`. */
  | { readonly kind: 'status'; readonly metrics: readonly MetricSample[]; readonly at: number; readonly tasks: readonly (TaskStatus & { readonly id: TaskId })[] }
  | { readonly kind: 'log'; readonly level: LogLevel; readonly message: string; readonly fields: LogFields }
  /** Records the collect sink received (`executeAndCollect`), in arrival order. */
  | { readonly kind: 'collected'; readonly values: readonly unknown[] }
  /** The slot cannot run the job (module, graph or restored state): the job fails without restarts. */
  | { readonly kind: 'invalidJob'; readonly message: string }
  /**
   * Every task of the slot has ended and everything above was sent. `reusable`: nothing the job started
   * still runs in the thread (timers, sockets), so it waits for the next job; otherwise the thread exits next.
   */
  | { readonly kind: 'done'; readonly reusable: boolean };
