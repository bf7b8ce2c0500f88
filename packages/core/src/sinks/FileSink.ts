import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Sink, SinkWriter, SinkWriterContext } from '../api/Sink.js';
import { OptionChecker } from '../api/OptionChecker.js';
import { TwoPhaseCommitSink } from './TwoPhaseCommitSink.js';

/** Bytes buffered per writer before they are written to the file. */
const FLUSH_BYTES = 1 << 20;

export interface FileSinkOptions<T> {
  /**
   * `exactly-once` (default): a part file per checkpoint, visible only once
   * the checkpoint is stored; needs checkpointing for output to appear before
   * the job ends. `at-least-once`: one file per subtask, fsynced at every
   * checkpoint; after a crash, records since the last checkpoint are written
   * again.
   */
  readonly guarantee?: 'exactly-once' | 'at-least-once';
  /** Turns a record into one line. Default: `JSON.stringify`. */
  readonly encode?: (value: T) => string;
}

/**
 * Writes records as JSON lines into a directory.
 *
 * @example
 * ```ts
 * env.enableCheckpointing(1000, { storage: './checkpoints' });
 * stream.sinkTo(FileSink.jsonLines('./out')); // exactly once across crashes
 * ```
 */
export const FileSink = {
  jsonLines<T>(directory: string, options: FileSinkOptions<T> = {}): Sink<T> {
    const check = new OptionChecker('FileSink.jsonLines()');
    check.nonEmptyString('directory', directory);
    check.known(check.object(options), FILE_SINK_OPTIONS);
    const guarantee = check.oneOf('guarantee', options.guarantee, ['exactly-once', 'at-least-once'], 'exactly-once');
    const encode = check.optionalFunc('encode', options.encode) ?? ((v: T) => JSON.stringify(v));
    return guarantee === 'exactly-once'
      ? new ExactlyOnceFileSink<T>(resolve(directory), encode)
      : new AtLeastOnceFileSink<T>(resolve(directory), encode);
  },
};

const FILE_SINK_OPTIONS = ['guarantee', 'encode'];

/** Buffers lines and appends them to a file handle. */
class LineFile {
  private buffer: string[] = [];
  private bytes = 0;
  private handle: Promise<FileHandle>;

  constructor(readonly path: string, flags: 'a' | 'w') {
    this.handle = open(path, flags);
  }

  append(line: string): Promise<void> | undefined {
    this.buffer.push(line, '\n');
    this.bytes += line.length + 1;
    return this.bytes >= FLUSH_BYTES ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = this.buffer.join('');
    this.buffer = [];
    this.bytes = 0;
    await (await this.handle).write(text);
  }

  /** Flushes and fsyncs: what was appended survives a crash. */
  async sync(): Promise<void> {
    await this.flush();
    await (await this.handle).sync();
  }

  async close(): Promise<void> {
    await (await this.handle).close();
  }
}

interface FileTxn {
  /** The hidden file the transaction writes. */
  readonly temp: string;
  /** Its name once committed. */
  readonly final: string;
}

/** Exactly-once: one hidden part file per transaction, renamed into place on commit. */
class ExactlyOnceFileSink<T> extends TwoPhaseCommitSink<T, FileTxn> {
  private readonly files = new Map<string, LineFile>();
  private readonly run = randomUUID().slice(0, 8);
  private seq = 0;

  constructor(
    private readonly directory: string,
    private readonly encode: (value: T) => string,
  ) {
    super();
  }

  override async createWriter(ctx: SinkWriterContext): Promise<SinkWriter<T>> {
    await mkdir(this.directory, { recursive: true });
    return super.createWriter(ctx);
  }

  protected beginTransaction(ctx: SinkWriterContext): FileTxn {
    // A run id keeps names unique across restarts of the same job.
    const name = `part-${ctx.subtaskIndex}-${this.run}-${String(this.seq++).padStart(6, '0')}.jsonl`;
    const txn = { temp: join(this.directory, `.${name}.inprogress`), final: join(this.directory, name) };
    this.files.set(txn.temp, new LineFile(txn.temp, 'w'));
    return txn;
  }

  protected write(txn: FileTxn, value: T): void | Promise<void> {
    return this.files.get(txn.temp)?.append(this.encode(value));
  }

  protected async preCommit(txn: FileTxn): Promise<void> {
    const file = this.files.get(txn.temp);
    if (file === undefined) return;
    this.files.delete(txn.temp);
    await file.sync();
    await file.close();
  }

  protected async commit(txn: FileTxn): Promise<void> {
    try {
      await rename(txn.temp, txn.final);
    } catch (error) {
      // Committed before (a restore commits again): the final file is there and the temp is gone.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !(await exists(txn.final))) throw error;
    }
  }

  protected async abort(txn: FileTxn): Promise<void> {
    const file = this.files.get(txn.temp);
    this.files.delete(txn.temp);
    await file?.close();
    await rm(txn.temp, { force: true });
  }

  protected async recover(ctx: SinkWriterContext, keep: readonly FileTxn[]): Promise<void> {
    const kept = new Set(keep.map((t) => t.temp));
    const prefix = `.part-${ctx.subtaskIndex}-`;
    for (const name of await readdir(this.directory)) {
      const path = join(this.directory, name);
      if (name.startsWith(prefix) && name.endsWith('.inprogress') && !kept.has(path)) await rm(path, { force: true });
    }
  }
}

/** At-least-once: appends to one file per subtask and makes it durable at every barrier. */
class AtLeastOnceFileSink<T> implements Sink<T> {
  constructor(
    private readonly directory: string,
    private readonly encode: (value: T) => string,
  ) {}

  async createWriter(ctx: SinkWriterContext): Promise<SinkWriter<T>> {
    await mkdir(this.directory, { recursive: true });
    const file = new LineFile(join(this.directory, `part-${ctx.subtaskIndex}.jsonl`), 'a');
    return {
      write: (value) => file.append(this.encode(value)),
      snapshotState: () => file.sync(),
      flush: () => file.sync(),
      close: () => file.close(),
    };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
