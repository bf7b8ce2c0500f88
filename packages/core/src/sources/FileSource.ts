import { open, type FileHandle } from 'node:fs/promises';
import { OptionChecker } from '../api/OptionChecker.js';
import type { ReadResult, Source, SourceReader } from '../api/Source.js';
import { LineBuffer } from './LineBuffer.js';

/**
 * Reads a text file line by line (UTF-8, `\n` or `\r\n`). Position: the byte
 * offset of the next line, so a restore continues exactly after the last
 * line that a checkpoint covered. A last line without a newline is read too.
 *
 * @example
 * ```ts
 * env.fromSource(new FileSource('events.jsonl'), 'events').map((line) => JSON.parse(line));
 * ```
 */
export class FileSource implements Source<string, number> {
  readonly parallel = false;
  readonly replayable = true;
  constructor(readonly path: string) {
    new OptionChecker('FileSource').nonEmptyString('path', path);
  }

  createReader(): SourceReader<string, number> {
    const path = this.path;
    let file: FileHandle | undefined;
    /** Byte offset after the last line returned: the position (a barrier may come while a read is pending). */
    let offset = 0;
    /** Where the next read from the file starts. */
    let readAt = 0;
    const buffer = new LineBuffer();
    let eof = false;
    return {
      async start(position) {
        offset = position ?? 0;
        readAt = offset;
        file = await open(path, 'r');
      },
      async read(max): Promise<ReadResult<string>> {
        const lines: string[] = [];
        const takenBefore = buffer.taken;
        while (lines.length < max) {
          const line = buffer.nextLine();
          if (line !== undefined) {
            lines.push(line);
            continue;
          }
          if (eof) {
            const last = buffer.rest();
            if (last !== undefined) lines.push(last);
            break;
          }
          const space = buffer.space();
          const { bytesRead } = await (file as FileHandle).read(space, 0, space.length, readAt);
          if (bytesRead === 0) eof = true;
          buffer.filled(bytesRead);
          readAt += bytesRead;
        }
        // Only now do the lines count as read.
        offset += buffer.taken - takenBefore;
        return lines.length === 0 && eof ? null : lines;
      },
      position: () => offset,
      async close() {
        await file?.close();
      },
    };
  }
}
