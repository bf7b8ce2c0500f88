import { open, type FileHandle } from 'node:fs/promises';
import { OptionChecker } from '../api/OptionChecker.js';
import type { ReadResult, Source, SourceReader, SourceReaderContext } from '../api/Source.js';
import { messageOf } from '../runtime/errors.js';
import { LineBuffer } from './LineBuffer.js';

/** A file still to be read, from the byte offset of its next line: a {@link FileSource} reader's split. */
export interface FileSplit {
  readonly path: string;
  readonly offset: number;
}

/**
 * Reads text files line by line (UTF-8, `\n` or `\r\n`); a last line
 * without a newline is read too.
 *
 * Each file is a split. Given several files, the source is parallel: subtask
 * `i` of `p` reads the files at positions `i`, `i + p`, ... of the list, one
 * after the other. Position: the splits a reader has not finished, each with
 * the byte offset of its next line, so a restore continues exactly after the
 * last line a checkpoint covered, and a restore at another parallelism deals
 * the unfinished files out to the new readers.
 *
 * @example
 * ```ts
 * env.fromSource(new FileSource('events.jsonl'), 'events').map((line) => JSON.parse(line));
 * env.fromSource(new FileSource(['day-1.jsonl', 'day-2.jsonl', 'day-3.jsonl']), 'days').setParallelism(3);
 * ```
 */
export class FileSource implements Source<string, FileSplit[]> {
  /** Parallel when given several files: a file is the smallest unit of work. */
  readonly parallel: boolean;
  readonly replayable = true;
  readonly rescalable = true;
  readonly paths: readonly string[];

  constructor(paths: string | readonly string[]) {
    const check = new OptionChecker('FileSource');
    if (Array.isArray(paths)) {
      const list = paths as readonly unknown[];
      if (list.length === 0) check.fail("option 'paths' must list at least one file");
      this.paths = list.map((path, i) => check.nonEmptyString(`paths[${i}]`, path));
    } else {
      this.paths = [check.nonEmptyString('path', paths)];
    }
    this.parallel = this.paths.length > 1;
  }

  createReader(ctx: Pick<SourceReaderContext, 'subtaskIndex' | 'parallelism'> = { subtaskIndex: 0, parallelism: 1 }): SourceReader<string, FileSplit[]> {
    const assigned = this.paths.filter((_, i) => i % ctx.parallelism === ctx.subtaskIndex).map((path) => ({ path, offset: 0 }));
    return new FileSplitReader(assigned, this.paths[0] as string);
  }
}

/** Reads its splits one after the other, each from its offset. */
class FileSplitReader implements SourceReader<string, FileSplit[]> {
  /** Unfinished splits, the one being read first; its offset is after the last line returned. */
  private splits: FileSplit[] = [];
  private file: FileHandle | undefined;
  /** Where the next read from the open file starts (a barrier may come while a read is pending). */
  private readAt = 0;
  private buffer = new LineBuffer();
  private eof = false;

  constructor(
    private readonly assigned: FileSplit[],
    /** The file a checkpoint of the one-file source (a byte offset) was taken of. */
    private readonly firstPath: string,
  ) {}

  start(position: FileSplit[] | undefined): void {
    // A checkpoint from before splits holds the offset in the one file as a number.
    const legacy = position as unknown;
    this.splits = typeof legacy === 'number' ? [{ path: this.firstPath, offset: legacy }] : [...(position ?? this.assigned)];
  }

  /** Lines of one split at most: its position moves only in the step that returns them. */
  async read(max: number): Promise<ReadResult<string>> {
    for (;;) {
      const split = this.splits[0];
      if (split === undefined) return null;
      const file = await this.open(split);
      const takenBefore = this.buffer.taken;
      const lines: string[] = [];
      let finished = false;
      while (lines.length < max) {
        const line = this.buffer.nextLine();
        if (line !== undefined) {
          lines.push(line);
          continue;
        }
        if (this.eof) {
          const last = this.buffer.rest();
          if (last !== undefined) lines.push(last);
          finished = true;
          break;
        }
        const space = this.buffer.space();
        const { bytesRead } = await file.read(space, 0, space.length, this.readAt).catch((error: unknown) => {
          // A read error (EISDIR, EIO) names no file of its own.
          throw new Error(`FileSource: could not read '${split.path}': ${messageOf(error)}`, { cause: error });
        });
        if (bytesRead === 0) this.eof = true;
        this.buffer.filled(bytesRead);
        this.readAt += bytesRead;
      }
      if (finished) await this.close();
      // Only now do the lines count as read; a finished split leaves the position.
      if (finished) this.splits.shift();
      else this.splits[0] = { path: split.path, offset: split.offset + this.buffer.taken - takenBefore };
      if (lines.length > 0) return lines;
    }
  }

  position(): FileSplit[] {
    return [...this.splits];
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
  }

  private async open(split: FileSplit): Promise<FileHandle> {
    if (this.file !== undefined) return this.file;
    const file = await open(split.path, 'r');
    if (split.offset > 0) {
      try {
        await checkResumable(file, split);
      } catch (error) {
        await file.close();
        throw error;
      }
    }
    this.file = file;
    this.readAt = split.offset;
    this.buffer = new LineBuffer(split.offset === 0);
    this.eof = false;
    return file;
  }
}

/**
 * A restored split's offset must still end a line of its file: one truncated below it (read on, it would end at
 * once, its lines lost) or rewritten since (rotated: the read would start inside another line) fails the restore.
 */
async function checkResumable(file: FileHandle, { path, offset }: FileSplit): Promise<void> {
  const { size } = await file.stat();
  if (size < offset) {
    throw new Error(`FileSource: '${path}' has ${size} bytes, fewer than the ${offset} the checkpoint covers: it changed since (truncated or replaced?); restore with the file as it was, or start without the checkpoint`);
  }
  const before = Buffer.alloc(1);
  await file.read(before, 0, 1, offset - 1);
  if (before[0] !== 0x0a) {
    throw new Error(`FileSource: '${path}' has no line break before byte ${offset}, where the checkpoint left it: it changed since (rewritten or rotated?); restore with the file as it was, or start without the checkpoint`);
  }
}
