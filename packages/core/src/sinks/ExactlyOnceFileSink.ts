import { randomUUID } from 'node:crypto';
import type { Sink, SinkWriter, SinkWriterContext } from '../api/Sink.js';
import type { OptionChecker } from '../api/OptionChecker.js';
import type { OperatorListState } from '../operators/StreamOperator.js';
import type { ExclusiveDirectory } from '../runtime/DirectoryLock.js';
import { fileOperation, fileSinkError, type SinkFileSystem } from './fileSystem.js';
import { PartFile } from './PartFile.js';
import { outputDirectory, partNames, publish, publishRestored, refuseOtherGuarantee, removeLeftovers, type PartState } from './partFiles.js';

/** `FileSink.jsonLines`'s `rolling` option: exactly-once part files that span checkpoints. */
export interface RollingOptions {
  /** A part file is closed at the `checkpointsPerPart`-th barrier it passes, counted from its first record, and published once that checkpoint is stored. Required. */
  readonly checkpointsPerPart: number;
  /** A part file holding at least this many bytes is published at the next checkpoint, however few it spans. Default: no size limit. */
  readonly partSizeBytes?: number;
}

export type RollingPolicy = Required<RollingOptions>;

const ROLLING_OPTIONS = ['checkpointsPerPart', 'partSizeBytes'];

/** Without `rolling`: a part per checkpoint that saw records. */
const PART_PER_CHECKPOINT: RollingPolicy = { checkpointsPerPart: 1, partSizeBytes: Number.MAX_SAFE_INTEGER };

/** The `rolling` option, checked: both numbers integers >= 1, the count required; undefined when absent. */
export function rollingPolicy(check: OptionChecker, rolling: unknown): RollingPolicy | undefined {
  const options = check.record('rolling', rolling, ROLLING_OPTIONS);
  if (options === undefined) return undefined;
  return {
    checkpointsPerPart: check.integer('rolling.checkpointsPerPart', options.checkpointsPerPart),
    partSizeBytes: check.optionalInteger('rolling.partSizeBytes', options.partSizeBytes, Number.MAX_SAFE_INTEGER),
  };
}

/** A writer's list state: the parts to publish at a restore, each with the length the checkpoint covers. */
// A type, not an interface: it must fit OperatorListState's index signature.
type PartsState = { readonly parts: readonly PartState[] };

/** The parts a restored checkpoint holds. */
function restoredParts(state: OperatorListState | undefined): readonly PartState[] {
  return (state as PartsState | undefined)?.parts ?? [];
}

/**
 * The part files a checkpoint of an earlier release holds: its writer was a `TwoPhaseCommitSink` with a part file
 * per transaction, kept as `{ pending: [{ checkpointId, txn: { temp, final } }] }`.
 */
function restoredTransactions(state: OperatorListState | undefined): readonly PartState[] {
  return ((state as { pending?: readonly { txn: PartState }[] } | undefined)?.pending ?? []).map((p) => p.txn);
}

/**
 * Exactly-once: hidden part files, published once a checkpoint covers them
 * (Flink's FileSink with its recoverable in-progress files).
 *
 * A part opens at its first record. At each barrier the writer fsyncs it and
 * records its length: the checkpoint covers exactly those bytes. The part is
 * closed at its `checkpointsPerPart`-th barrier (every barrier without
 * `rolling`; or the first once it holds `partSizeBytes`, or at the end of
 * input), and published (renamed into place, the directory fsynced) once that
 * checkpoint is stored; the records after the barrier go to a new part. A
 * restore cuts each part its checkpoint holds back to the recorded length and
 * publishes it, whether or not it had been closed, and removes the rest of
 * what the failed run wrote.
 */
export class ExactlyOnceFileSink<T> implements Sink<T> {
  /** Keeps part names unique across restarts of the same job, and `seq` across its subtasks. */
  private readonly run = randomUUID().slice(0, 8);
  private seq = 0;

  constructor(
    private readonly fs: SinkFileSystem,
    private readonly directory: string,
    private readonly encode: (value: T) => string,
    private readonly policy: RollingPolicy = PART_PER_CHECKPOINT,
  ) {}

  exclusiveDirectory(): ExclusiveDirectory {
    return outputDirectory(this.directory);
  }

  async createWriter(ctx: SinkWriterContext): Promise<SinkWriter<T>> {
    const { fs, directory } = this;
    refuseOtherGuarantee(ctx, directory, 'exactly-once');
    await fileOperation('create directory', directory, () => fs.mkdir(directory));
    // Everything the restored checkpoint holds is stored, so it is published now. Checkpoints from before list state
    // hold a writer's transactions as opaque state.
    const legacy = ctx.restoredState as OperatorListState | undefined;
    const mine = [...restoredParts(ctx.restoredListState), ...restoredTransactions(ctx.restoredListState ?? legacy)];
    for (const part of mine) await publishRestored(fs, directory, part);
    const all = [...restoredParts(ctx.restoredUnionListState), ...restoredTransactions(ctx.restoredUnionListState ?? legacy)];
    await removeLeftovers(fs, directory, ctx, all);
    const next = () => partNames(directory, ctx.subtaskIndex, this.run, this.seq++);
    return new PartWriter(fs, directory, this.encode, this.policy, next, ctx.subtaskIndex);
  }
}

/** The part file a writer is writing: its names, its file, and the barriers it has passed. */
interface OpenPart {
  readonly names: PartState;
  readonly file: PartFile;
  barriers: number;
}

/** A part closed at a barrier: published once that checkpoint is stored. */
interface ClosedPart {
  readonly checkpointId: number;
  /** The part with its length, once it is durable and closed. */
  readonly state: Promise<PartState>;
  published?: Promise<void>;
}

class PartWriter<T> implements SinkWriter<T> {
  private open: OpenPart | undefined;
  private closedParts: ClosedPart[] = [];
  /** The input ended: the next barrier (the final snapshot's) closes the open part. */
  private ending = false;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly fs: SinkFileSystem,
    private readonly directory: string,
    private readonly encode: (value: T) => string,
    private readonly policy: RollingPolicy,
    private readonly nextPart: () => PartState,
    private readonly subtaskIndex: number,
  ) {}

  write(value: T): void | Promise<void> {
    if (this.closed) throw this.afterClose('write()');
    const line = this.encode(value);
    if (this.open === undefined) {
      const names = this.nextPart();
      this.open = { names, file: PartFile.create(this.fs, names.temp), barriers: 0 };
    }
    return this.open.file.append(line);
  }

  snapshotListState(checkpointId: number): Promise<PartsState> {
    if (this.closed) return Promise.reject(this.afterClose(`snapshotListState(${checkpointId})`));
    const part = this.open;
    let current: Promise<PartState> | undefined;
    if (part !== undefined) {
      part.barriers++;
      const { checkpointsPerPart, partSizeBytes } = this.policy;
      // Decided here, at the barrier: the records after it go to the open part or to a new one.
      const closes = this.ending || part.barriers >= checkpointsPerPart || part.file.sizeWhenFlushed >= partSizeBytes;
      const synced = part.file.sync().then((length) => ({ ...part.names, length }));
      if (closes) {
        this.open = undefined;
        // Closed whether or not the fsync worked: a failed one must not keep the file open (a full disk stays busy).
        const state = synced.finally(() => part.file.close());
        this.closedParts.push({ checkpointId, state });
      } else {
        current = synced;
      }
    }
    return Promise.all([...this.closedParts.map((p) => p.state), current]).then((parts) => ({
      parts: parts.filter((p) => p !== undefined),
    }));
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    for (const entry of this.closedParts.filter((p) => p.checkpointId <= checkpointId)) {
      entry.published ??= entry.state.then((part) => publish(this.fs, this.directory, part));
      await entry.published;
      // Only a published part leaves the list: a checkpoint taken while it is renamed still holds it.
      this.closedParts = this.closedParts.filter((p) => p !== entry);
    }
  }

  flush(): void {
    this.ending = true;
  }

  /**
   * Closes the open part. One no barrier has covered is removed (nothing of it may become visible); one a
   * checkpoint holds stays for the restore to cut back and publish, as do closed parts not yet published.
   */
  close(): Promise<void> {
    this.closed = true;
    return (this.closing ??= this.closeOpenPart());
  }

  private async closeOpenPart(): Promise<void> {
    const part = this.open;
    this.open = undefined;
    if (part === undefined) return;
    try {
      await part.file.close();
    } finally {
      if (part.barriers === 0) await fileOperation('remove', part.names.temp, () => this.fs.rm(part.names.temp));
    }
  }

  private afterClose(call: string): Error {
    return fileSinkError(`${call} after close() in subtask ${this.subtaskIndex}: the writer is closed, nothing more goes into its part files`);
  }
}
