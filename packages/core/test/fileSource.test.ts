import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSource, StreamExecutionEnvironment, seededRandom } from '../src/index.js';
import { READ_BYTES } from '../src/sources/LineBuffer.js';

function file(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'fs-')), 'in.txt');
  writeFileSync(path, content);
  return path;
}

describe('FileSource', { timeout: 30_000 }, () => {
  it('reads lines (\\n and \\r\\n, a last line without newline, UTF-8)', async () => {
    const env = StreamExecutionEnvironment.create();
    const lines = await env.fromSource(new FileSource(file('a\r\nbé\n\nlast')), 'f').executeAndCollect();
    expect(lines).toEqual(['a', 'bé', '', 'last']);
  });

  it('reports as position the byte offset after the last line returned, also while a read is pending', async () => {
    const path = file(Array.from({ length: 100_000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const reader = new FileSource(path).createReader();
    await reader.start?.(undefined);
    const first = (await reader.read(3)) as string[];
    expect(first).toEqual(['line 0', 'line 1', 'line 2']);
    const afterFirst = reader.position();
    expect(afterFirst).toBe(Buffer.byteLength('line 0\nline 1\nline 2\n'));
    // A barrier may take the position while a read waits for the disk: it must not move yet.
    const pending = reader.read(50_000);
    expect(reader.position()).toBe(afterFirst);
    const second = (await pending) as string[];
    expect(second[0]).toBe('line 3');
    expect(reader.position()).toBe(afterFirst + Buffer.byteLength(second.map((l) => `${l}\n`).join('')));
    await reader.close?.();
  });

  it('resumes from a position exactly after the last line it covered', async () => {
    const path = file('zero\none\ntwo\nthree\n');
    const reader = new FileSource(path).createReader();
    await reader.start?.(undefined);
    await reader.read(2);
    const position = reader.position();
    await reader.close?.();
    const resumed = new FileSource(path).createReader();
    await resumed.start?.(position);
    expect(await resumed.read(10)).toEqual(['two', 'three']);
    expect(await resumed.read(10)).toBeNull();
    await resumed.close?.();
  });

  it('cuts lines that cross read boundaries: \\r\\n split after the \\r, a UTF-8 character split in two, lines longer than a read', async () => {
    const crlfAcross = 'a'.repeat(READ_BYTES - 1); // its \r is the last byte of the first read
    const utf8Across = 'b'.repeat(READ_BYTES - 2) + 'é€'; // 'é' straddles the second and third reads
    const long = 'c'.repeat(5 * READ_BYTES + 123);
    const lines = [crlfAcross, utf8Across, '', long, 'x', '', long + 'd', 'last without newline'];
    const path = file(`${crlfAcross}\r\n${utf8Across}\n\n${long}\r\nx\n\n${long}d\n${lines.at(-1)}`);
    const env = StreamExecutionEnvironment.create();
    expect(await env.fromSource(new FileSource(path), 'f').executeAndCollect()).toEqual(lines);
  });

  it('reads any mix of short, empty and very long lines in order, and every position resumes exactly', async () => {
    const random = seededRandom(19);
    const lines = Array.from({ length: 300 }, (_, i) => {
      const kind = random();
      // Two lines long enough to grow the buffer past the size it shrinks back from.
      const length =
        i === 100 || i === 200 ? 20 * READ_BYTES : kind < 0.1 ? 0 : kind < 0.85 ? Math.floor(random() * 100) : Math.floor(random() * 4 * READ_BYTES);
      return String.fromCharCode(97 + (i % 26)).repeat(length);
    });
    const path = file(lines.join('\n') + '\n');
    const reader = new FileSource(path).createReader();
    await reader.start?.(undefined);
    const read: string[] = [];
    const positions: number[] = [];
    for (let batch = await reader.read(7); batch !== null; batch = await reader.read(7)) {
      read.push(...batch);
      positions.push(reader.position());
    }
    await reader.close?.();
    expect(read).toEqual(lines);
    // Each position is the byte offset just after the lines returned so far.
    for (const [i, position] of positions.entries()) {
      expect(position).toBe(lines.slice(0, 7 * (i + 1)).reduce((sum, l) => sum + l.length + 1, 0));
    }
    const resumed = new FileSource(path).createReader();
    await resumed.start?.(positions[20]);
    expect(await resumed.read(3)).toEqual(lines.slice(147, 150));
    await resumed.close?.();
  });
});
