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
  constructor(readonly path: string) {}

  createReader(): SourceReader<string, number> {
    const path = this.path;
    let file: FileHandle | undefined;
    let offset = 0;
    let carry = Buffer.alloc(0);
    let eof = false;
    return {
      async start(position) {
        offset = position ?? 0;
        file = await open(path, 'r');
      },
      async read(max): Promise<ReadResult<string>> {
        const lines: string[] = [];
        while (lines.length < max) {
          const nl = carry.indexOf(0x0a);
          if (nl >= 0) {
            const raw = carry.subarray(0, nl);
            carry = carry.subarray(nl + 1);
            offset += nl + 1;
            lines.push(raw.toString('utf8', 0, raw.at(-1) === 0x0d ? raw.length - 1 : raw.length));
            continue;
          }
          if (eof) {
            if (carry.length > 0) {
              lines.push(carry.toString('utf8'));
              offset += carry.length;
              carry = Buffer.alloc(0);
            }
            break;
          }
          const chunk = Buffer.alloc(READ_BYTES);
          const { bytesRead } = await (file as FileHandle).read(chunk, 0, READ_BYTES, offset + carry.length);
          if (bytesRead === 0) eof = true;
          else carry = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
        }
        return lines.length === 0 && eof ? null : lines;
      },
      position: () => offset,
      async close() {
        await file?.close();
      },
    };
  }
}
