import { basename, dirname, join } from 'node:path';
import { fileOperation, fileSinkError, type SinkFileHandle, type SinkFileSystem } from './fileSystem.js';

/** Bytes buffered before they are written to the file. */
const FLUSH_BYTES = 1 << 20;

/**
 * The files a part file of this thread has open, by path. A restart goes on while a close it gave up on (a write stuck
 * on a stalled disk) still holds its file: the restored writer must not cut and reuse that file, into which the
 * stuck write would land after the cut (see `resume`).
 */
const openHere = new Map<string, number>();

/**
 * One output file of a file sink: buffers lines, writes every byte of them
 * (a short write is continued until it completes or fails, never dropped)
 * and fsyncs on demand.
 *
 * Operations run one after another in call order. The first failure sticks:
 * a file with a hole must not take more lines, so every later write and sync
 * fails with it. The open starts at once and is observed from the start: a
 * failed open fails the next flush or sync, never the process.
 */
export class PartFile {
  private lines: string[] = [];
  /** The UTF-8 bytes of `lines`. */
  private bufferedBytes = 0;
  /** The file's size once every write handed out so far is done: where the next write goes. */
  private size: number;
  /** The size the last fsync made durable (-1: none yet, so a new empty file is fsynced too). */
  private syncedSize = -1;
  private handle: SinkFileHandle | undefined;
  /** Counted out of `openHere` (its close ended). */
  private released = false;
  private failure: Error | undefined;
  /** The last operation; it never rejects (its caller sees the failure). */
  private tail: Promise<void>;

  private constructor(
    readonly path: string,
    opening: Promise<SinkFileHandle>,
    size: number,
  ) {
    this.size = size;
    openHere.set(path, (openHere.get(path) ?? 0) + 1);
    this.tail = opening.then(
      (handle) => {
        this.handle = handle;
      },
      (error: unknown) => {
        this.failure = error as Error;
      },
    );
  }

  /** A new file; an existing file of that name is an error, never appended to or overwritten. */
  static create(fs: SinkFileSystem, path: string): PartFile {
    return new PartFile(path, fileOperation('create', path, () => fs.open(path, 'wx')), 0);
  }

  /**
   * An existing file cut back to `length` bytes, continued from there: what
   * a checkpoint covered stays, what a failed run wrote after it goes.
   */
  static resume(fs: SinkFileSystem, path: string, length: number): PartFile {
    if (openHere.has(path)) return new PartFile(path, fileOperation('reopen', path, () => copyPrefix(fs, path, length)), length);
    const opening = fileOperation('reopen', path, async () => {
      const handle = await fs.open(path, 'r+');
      try {
        const { size } = await handle.stat();
        if (size < length) throw new Error(`it holds ${size} bytes, fewer than the ${length} the checkpoint covers (changed outside the job?)`);
        await handle.truncate(length);
      } catch (error) {
        await handle.close();
        throw error;
      }
      return handle;
    });
    return new PartFile(path, opening, length);
  }

  /** Its size in bytes once what is buffered is written: for a size limit. */
  get sizeWhenFlushed(): number {
    return this.size + this.bufferedBytes;
  }

  /** Settles once the file is open; rejects when it cannot be. */
  opened(): Promise<void> {
    return this.enqueue(() => Promise.resolve());
  }

  /**
   * Adds a line. Returns a promise (backpressure) only when the buffer is
   * full: a write held back across a checkpoint barrier would land in the
   * next transaction. A file that cannot be opened fails the next flush or sync.
   */
  append(line: string): Promise<void> | undefined {
    this.lines.push(line, '\n');
    this.bufferedBytes += Buffer.byteLength(line) + 1;
    return this.bufferedBytes >= FLUSH_BYTES ? this.flush() : undefined;
  }

  /** Writes out the buffered lines. */
  flush(): Promise<void> {
    if (this.lines.length === 0) return this.enqueue(() => Promise.resolve());
    const bytes = Buffer.from(this.lines.join(''));
    this.lines = [];
    this.bufferedBytes = 0;
    const position = this.size;
    this.size += bytes.length;
    return this.enqueue((handle) => this.writeAll(handle, bytes, position));
  }

  /** Writes out and fsyncs what was appended so far. Resolves to the file's size at that point: durable. */
  async sync(): Promise<number> {
    const flushed = this.flush();
    const size = this.size;
    await flushed;
    // The end of input syncs, then the final snapshot does: the second has nothing new to make durable.
    if (size === this.syncedSize) return size;
    await this.enqueue((handle) => fileOperation('fsync', this.path, () => handle.sync()));
    this.syncedSize = Math.max(this.syncedSize, size);
    return size;
  }

  /**
   * Closes the file once the operations queued before are done, without
   * writing what is still buffered. A failure of those operations was
   * reported to their callers; only a failing close is reported here.
   */
  async close(): Promise<void> {
    await this.tail;
    const handle = this.handle;
    this.handle = undefined;
    this.failure ??= fileSinkError(`'${this.path}' is closed`);
    try {
      if (handle !== undefined) await fileOperation('close', this.path, () => handle.close());
    } finally {
      if (!this.released) {
        this.released = true;
        const left = (openHere.get(this.path) ?? 1) - 1;
        if (left === 0) openHere.delete(this.path);
        else openHere.set(this.path, left);
      }
    }
  }

  /** Writes all of `bytes` at `position`, or fails and cuts the file back to `position`: no partial line stays. */
  private async writeAll(handle: SinkFileHandle, bytes: Buffer, position: number): Promise<void> {
    try {
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await fileOperation('write', this.path, () =>
          handle.write(bytes, done, bytes.length - done, position + done),
        );
        if (bytesWritten <= 0) {
          throw fileSinkError(`could not write '${this.path}': wrote ${done} of ${bytes.length} bytes, then nothing`);
        }
        done += bytesWritten;
      }
    } catch (error) {
      // Best effort: the write's failure is what the job reports, whether or not the cut works.
      await handle.truncate(position).catch(() => undefined);
      throw error;
    }
  }

  private enqueue(operation: (handle: SinkFileHandle) => Promise<void>): Promise<void> {
    const result = this.tail.then(async () => {
      if (this.failure !== undefined) throw this.failure;
      try {
        await operation(this.handle as SinkFileHandle);
      } catch (error) {
        this.failure = error as Error;
        throw error;
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * `path`'s first `length` bytes in a new file that takes its name, open for writing on: the file a writer still holds
 * keeps its data but loses its name, so what that writer writes later goes nowhere. The copy is hidden until renamed,
 * and named as a leftover of the same writer, so a crash during it leaves a file the next restore removes.
 */
async function copyPrefix(fs: SinkFileSystem, path: string, length: number): Promise<SinkFileHandle> {
  const hidden = basename(path).startsWith('.') ? basename(path) : `.${basename(path)}`;
  const copy = join(dirname(path), hidden.endsWith('.inprogress') ? hidden.replace(/\.inprogress$/, '.copy.inprogress') : `${hidden}.copy.inprogress`);
  const source = await fs.open(path, 'r');
  let target: SinkFileHandle | undefined;
  try {
    const { size } = await source.stat();
    if (size < length) throw new Error(`it holds ${size} bytes, fewer than the ${length} the checkpoint covers (changed outside the job?)`);
    await fs.rm(copy);
    target = await fs.open(copy, 'wx');
    const chunk = Buffer.alloc(Math.min(length, 1 << 20));
    for (let done = 0; done < length; ) {
      const { bytesRead } = await source.read(chunk, 0, Math.min(chunk.length, length - done), done);
      if (bytesRead <= 0) throw new Error(`it ended at ${done} of the ${length} bytes the checkpoint covers`);
      for (let written = 0; written < bytesRead; ) {
        const { bytesWritten } = await target.write(chunk, written, bytesRead - written, done + written);
        if (bytesWritten <= 0) throw new Error(`the copy took no byte at ${done + written}`);
        written += bytesWritten;
      }
      done += bytesRead;
    }
    await target.sync();
    await fs.rename(copy, path);
    return target;
  } catch (error) {
    await target?.close().catch(() => undefined);
    await fs.rm(copy).catch(() => undefined);
    throw error;
  } finally {
    await source.close();
  }
}
