import { randomUUID } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import type { Sink, SinkWriter, SinkWriterContext } from '../api/Sink.js';
import { describeValue, OptionChecker } from '../api/OptionChecker.js';
import type { ExclusiveDirectory } from '../runtime/DirectoryLock.js';
import { fileOperation, fileSinkError, nodeFileSystem, syncDirectory, type SinkFileSystem } from './fileSystem.js';
import { PartFile } from './PartFile.js';
import { ExactlyOnceFileSink, rollingPolicy, type RollingOptions } from './ExactlyOnceFileSink.js';
import { outputDirectory, refuseOtherGuarantee } from './partFiles.js';

export interface FileSinkOptions<T> {
  /**
   * `exactly-once` (default): a part file per checkpoint (per several with
   * `rolling`), visible only once the checkpoint is stored; needs
   * checkpointing for output to appear before the job ends. `at-least-once`: one file per subtask and run, fsynced at
   * every checkpoint and at the end of input; a run started without a
   * checkpoint to restore writes new files (it never appends to an earlier
   * run's), a restored run cuts its file back to what the checkpoint covered
   * and continues it. After a failure, records since the last checkpoint may
   * be written again.
   */
  readonly guarantee?: 'exactly-once' | 'at-least-once';
  /**
   * Exactly-once only: part files that span checkpoints, for fewer files when
   * checkpoints are frequent. A part file is closed at the
   * `checkpointsPerPart`-th barrier it passes from its first record, or at the
   * next one once it holds `partSizeBytes`, or at the end of input, and
   * published once that checkpoint is stored: output appears that much later. Without it, each checkpoint
   * publishes a part file per subtask that took records.
   */
  readonly rolling?: RollingOptions;
  /** Turns a record into one line: a string without a line break (anything else fails the job at that record). Default: `JSON.stringify`, with an `Error` anywhere in the record written as `{ name, message }` (not `{}`). */
  readonly encode?: (value: T) => string;
}

/**
 * Writes records as JSON lines into a directory.
 *
 * Every byte is written or the job fails: a full disk, a read-only or
 * missing directory, a failing fsync fail the job (its restart strategy runs,
 * then `execute()` rejects naming the sink's operator and the file).
 *
 * @example
 * ```ts
 * env.enableCheckpointing(1000, { storage: './checkpoints' });
 * stream.sinkTo(FileSink.jsonLines('./out')); // exactly once across crashes
 * // Fewer files: each part spans 30 checkpoints (or 64 MiB), published that much later.
 * stream.sinkTo(FileSink.jsonLines('./out', { rolling: { checkpointsPerPart: 30, partSizeBytes: 64 << 20 } }));
 * ```
 */
export const FileSink = {
  jsonLines<T>(directory: string, options: FileSinkOptions<T> = {}): Sink<T> {
    return jsonLinesSink(directory, options, nodeFileSystem);
  },
};

const FILE_SINK_OPTIONS = ['guarantee', 'encode', 'rolling'];

/** `FileSink.jsonLines` on a given file system (tests inject faults through it). */
export function jsonLinesSink<T>(directory: string, options: FileSinkOptions<T>, fs: SinkFileSystem): Sink<T> {
  const check = new OptionChecker('FileSink.jsonLines()');
  check.nonEmptyString('directory', directory);
  check.known(check.object(options), FILE_SINK_OPTIONS);
  const guarantee = check.oneOf('guarantee', options.guarantee, ['exactly-once', 'at-least-once'], 'exactly-once');
  const encode = lineEncoder(check.optionalFunc('encode', options.encode));
  const rolling = rollingPolicy(check, options.rolling);
  if (guarantee === 'at-least-once') {
    if (rolling !== undefined) check.fail("option 'rolling' is for guarantee 'exactly-once': an at-least-once sink writes one file per subtask and run already");
    return new AtLeastOnceFileSink<T>(fs, resolve(directory), encode);
  }
  return new ExactlyOnceFileSink<T>(fs, resolve(directory), encode, rolling);
}

/** A record's JSON, or an error that says why there is none when it outgrows the longest string V8 holds. */
function jsonOf(value: unknown): unknown {
  try {
    return JSON.stringify(value, errorsWithMessage);
  } catch (error) {
    if (!(error instanceof RangeError) || !error.message.includes('Invalid string length')) throw error;
    throw fileSinkError(`a record's JSON line would be longer than the longest string V8 holds (about 2^29 characters on 64-bit): split such records, or give FileSink.jsonLines() an encode option that writes less`, error);
  }
}

/** `JSON.stringify` writes an `Error` as `{}`: a dead letter's error (`{ input, error, attempts }`) would lose its message. */
function errorsWithMessage(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

/**
 * A record's line, checked: anything but a string would write no line or garbage (and stall the
 * size-based flush), and a line break in it would write two lines for one record.
 */
function lineEncoder<T>(encode: ((value: T) => string) | undefined): (value: T) => string {
  if (encode === undefined) {
    return (value) => {
      const line: unknown = jsonOf(value);
      if (typeof line !== 'string') {
        throw fileSinkError(`a record has no JSON form (JSON.stringify() returned ${describeValue(line)} for ${describeValue(value)}); give FileSink.jsonLines() an encode option, or filter such records out`);
      }
      return line;
    };
  }
  return (value) => {
    const line: unknown = encode(value);
    if (typeof line !== 'string') throw fileSinkError(`encode() returned ${describeValue(line)} for a record; it must return the record's line, a string`);
    // JSON.stringify never writes a raw line break: only a custom encoder can.
    if (line.includes('\n')) throw fileSinkError("encode() returned a line break for a record; it must return one line (JSON.stringify() escapes them)");
    return line;
  };
}

/** An at-least-once writer's file, and how much of it a checkpoint covers. */
interface AtLeastOnceFile {
  readonly file: string;
  readonly length: number;
}

/**
 * At-least-once: one file per subtask and run, made durable at every barrier
 * and at the end of input. A restored writer continues the file its
 * checkpoint names, cut back to the length the checkpoint covered. The file
 * is list state: restored at a lower parallelism a writer may get several,
 * and cuts back the others too (what followed is written again); at a higher
 * one, a writer that gets none starts a new file.
 */
class AtLeastOnceFileSink<T> implements Sink<T> {
  constructor(
    private readonly fs: SinkFileSystem,
    private readonly directory: string,
    private readonly encode: (value: T) => string,
  ) {}

  exclusiveDirectory(): ExclusiveDirectory {
    return outputDirectory(this.directory);
  }

  async createWriter(ctx: SinkWriterContext): Promise<SinkWriter<T>> {
    refuseOtherGuarantee(ctx, this.directory, 'at-least-once');
    await fileOperation('create directory', this.directory, () => this.fs.mkdir(this.directory));
    // Checkpoints from before list state hold the one file as opaque state.
    const legacy = ctx.restoredState as AtLeastOnceFile | undefined;
    const [restored, ...others] = (ctx.restoredListState?.files ?? (legacy === undefined ? [] : [legacy])) as AtLeastOnceFile[];
    for (const other of others) {
      const cut = PartFile.resume(this.fs, join(this.directory, other.file), other.length);
      try {
        await cut.sync();
      } finally {
        await cut.close();
      }
    }
    // A fresh run gets a name of its own: it never appends to the files of an earlier run.
    const file =
      restored === undefined
        ? PartFile.create(this.fs, join(this.directory, `part-${ctx.subtaskIndex}-${randomUUID().slice(0, 8)}.jsonl`))
        : PartFile.resume(this.fs, join(this.directory, restored.file), restored.length);
    try {
      await file.opened();
      await fileOperation('fsync directory', this.directory, () => syncDirectory(this.fs, this.directory));
    } catch (error) {
      // The job fails with the first error; a failing close of the half-made writer adds nothing.
      await file.close().catch(() => undefined);
      throw error;
    }
    const name = basename(file.path);
    let closed = false;
    return {
      write: (value) => {
        // A closed file would buffer the line and never write it.
        if (closed) throw fileSinkError(`write() after close() in subtask ${ctx.subtaskIndex}: '${file.path}' is closed, the record was not written`);
        return file.append(this.encode(value));
      },
      snapshotListState: async () => ({ files: [{ file: name, length: await file.sync() }] }),
      flush: async () => {
        await file.sync();
      },
      close: () => {
        closed = true;
        return file.close();
      },
    };
  }
}
