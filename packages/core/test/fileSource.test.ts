import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSource, StreamExecutionEnvironment } from '../src/index.js';


function file(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'fs-')), 'in.txt');
  writeFileSync(path, content);
  return path;
}

describe('FileSource', () => {
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
  });
});
