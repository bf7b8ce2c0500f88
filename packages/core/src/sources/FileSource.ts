import { open, type FileHandle } from 'node:fs/promises';
import type { ReadResult, Source, SourceReader } from '../api/Source.js';

const READ_BYTES = 1 << 16;

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
  constructor(readonly path: string) {}

  createReader(): SourceReader<string, number> {
    const path = this.path;
    let file: FileHandle | undefined;
    /** Byte offset after the last line returned: the position (a barrier may come while a read is pending). */
    let offset = 0;
    /** Bytes read from `offset` on that are not returned yet. */
    let carry = Buffer.alloc(0);
    let eof = false;
    return {
      async start(position) {
        offset = position ?? 0;
        file = await open(path, 'r');
      },
      async read(max): Promise<ReadResult<string>> {
        const lines: string[] = [];
        let consumed = 0;
        while (lines.length < max) {
          const nl = carry.indexOf(0x0a, consumed);
          if (nl >= 0) {
            const end = nl > consumed && carry[nl - 1] === 0x0d ? nl - 1 : nl;
            lines.push(carry.toString('utf8', consumed, end));
            consumed = nl + 1;
            continue;
          }
          if (eof) {
            if (consumed < carry.length) {
              lines.push(carry.toString('utf8', consumed));
              consumed = carry.length;
            }
            break;
          }
          const chunk = Buffer.alloc(READ_BYTES);
          const { bytesRead } = await (file as FileHandle).read(chunk, 0, READ_BYTES, offset + carry.length);
          if (bytesRead === 0) eof = true;
          else carry = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
        }
        // Only now do the lines count as read.
        offset += consumed;
        carry = carry.subarray(consumed);
        return lines.length === 0 && eof ? null : lines;
      },
      position: () => offset,
      async close() {
        await file?.close();
      },
    };
  }
}
