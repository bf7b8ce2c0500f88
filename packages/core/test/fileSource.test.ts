import { appendFileSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStorage, FileSource, StreamExecutionEnvironment, seededRandom, type FileSplit } from '../src/index.js';
import { assignRestoredState } from '../src/runtime/checkpoint/restoreAssignment.js';
import { READ_BYTES } from '../src/sources/LineBuffer.js';

function file(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'fs-')), 'in.txt');
  writeFileSync(path, content);
  return path;
}

/** The position of a reader of `path` after it read `lines` lines. */
async function positionAfter(path: string, lines: number): Promise<FileSplit[]> {
  const reader = new FileSource(path).createReader();
  await reader.start?.(undefined);
  await reader.read(lines);
  const position = reader.position();
  await reader.close?.();
  return position;
}

/** The byte offset a one-file reader's position names; the file's size once it has no unfinished split. */
const offsetOf = (position: FileSplit[], size: number) => position[0]?.offset ?? size;

describe('FileSource', { timeout: 30_000 }, () => {
  it('reads lines (\\n and \\r\\n, a last line without newline, UTF-8)', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const lines = await env.fromSource(new FileSource(file('a\r\nbé\n\nlast')), 'f').executeAndCollect();
    expect(lines).toEqual(['a', 'bé', '', 'last']);
  });

  it('drops a UTF-8 byte-order mark at the start of a file, and cuts the \r of a last line without newline', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const lines = await env.fromSource(new FileSource(file('\uFEFF{"a":1}\r\n\uFEFFkept\n{"a":2}\r')), 'f').executeAndCollect();
    // Only the file's first bytes can be a byte-order mark: one inside the file is text.
    expect(lines).toEqual(['{"a":1}', '\uFEFFkept', '{"a":2}']);
  });

  it('fails naming the path when a path is a directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-dir-'));
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const failure = await env.fromSource(new FileSource(dir), 'files').executeAndCollect().catch((error: unknown) => error);
    expect(String(failure)).toContain(`failed in operator 'files': FileSource: could not read '${dir}': EISDIR`);
  });

  it('reports as position the file and the byte offset after the last line returned, also while a read is pending', async () => {
    const path = file(Array.from({ length: 100_000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const reader = new FileSource(path).createReader();
    await reader.start?.(undefined);
    const first = (await reader.read(3)) as string[];
    expect(first).toEqual(['line 0', 'line 1', 'line 2']);
    const afterFirst = reader.position();
    expect(afterFirst).toEqual([{ path, offset: Buffer.byteLength('line 0\nline 1\nline 2\n') }]);
    // A barrier may take the position while a read waits for the disk: it must not move yet.
    const pending = reader.read(50_000);
    expect(reader.position()).toEqual(afterFirst);
    const second = (await pending) as string[];
    expect(second[0]).toBe('line 3');
    expect(reader.position()).toEqual([{ path, offset: afterFirst[0]!.offset + Buffer.byteLength(second.map((l) => `${l}\n`).join('')) }]);
    await reader.close?.();
  });

  it('refuses to resume a file changed since the checkpoint (truncated below its offset, or rewritten), and resumes one appended to', async () => {
    const path = file('zero\none\ntwo\nthree\n');
    const position = await positionAfter(path, 2);
    const resumeFrom = async () => {
      const resumed = new FileSource(path).createReader();
      await resumed.start?.(position);
      try {
        return await resumed.read(10);
      } finally {
        await resumed.close?.();
      }
    };
    appendFileSync(path, 'four\n');
    expect(await resumeFrom()).toEqual(['two', 'three', 'four']);
    // Rotated: a new file under the same name, whose line breaks fall elsewhere.
    writeFileSync(path, 'a new file\nwith other lines\n');
    await expect(resumeFrom()).rejects.toThrow(`FileSource: '${path}' has no line break before byte 9, where the checkpoint left it`);
    truncateSync(path, 4);
    await expect(resumeFrom()).rejects.toThrow(`FileSource: '${path}' has 4 bytes, fewer than the 9 the checkpoint covers`);
  });

  it('resumes from a position exactly after the last line it covered', async () => {
    const path = file('zero\none\ntwo\nthree\n');
    const position = await positionAfter(path, 2);
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
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
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
    const positions: FileSplit[][] = [];
    for (let batch = await reader.read(7); batch !== null; batch = await reader.read(7)) {
      read.push(...batch);
      positions.push(reader.position());
    }
    await reader.close?.();
    expect(read).toEqual(lines);
    // Each position is the byte offset just after the lines returned so far.
    const size = lines.reduce((sum, l) => sum + l.length + 1, 0);
    for (const [i, position] of positions.entries()) {
      expect(offsetOf(position, size)).toBe(lines.slice(0, 7 * (i + 1)).reduce((sum, l) => sum + l.length + 1, 0));
    }
    expect(positions.at(-1)).toEqual([]);
    const resumed = new FileSource(path).createReader();
    await resumed.start?.(positions[20]);
    expect(await resumed.read(3)).toEqual(lines.slice(147, 150));
    await resumed.close?.();
  });
});

describe('FileSource over several files', { timeout: 30_000 }, () => {
  /** `count` files of `lines` lines each, named after their index; every line names its file and number. */
  function files(count: number, lines: number): string[] {
    const dir = mkdtempSync(join(tmpdir(), 'fs-'));
    return Array.from({ length: count }, (_, f) => {
      const path = join(dir, `f${f}.txt`);
      writeFileSync(path, Array.from({ length: lines }, (_, l) => `f${f}-${l}`).join('\n') + '\n');
      return path;
    });
  }
  const allLines = (count: number, lines: number) =>
    Array.from({ length: count }, (_, f) => Array.from({ length: lines }, (_, l) => `f${f}-${l}`)).flat().sort();

  it('is parallel; subtask i of p reads files i, i + p, ... one after the other', async () => {
    const paths = files(5, 3);
    const source = new FileSource(paths);
    expect(source.parallel).toBe(true);
    expect(new FileSource(paths[0]!).parallel).toBe(false);
    const reader = source.createReader({ subtaskIndex: 1, parallelism: 2 });
    await reader.start?.(undefined);
    const read: string[] = [];
    for (let chunk = await reader.read(2); chunk !== null; chunk = await reader.read(2)) read.push(...chunk);
    expect(read).toEqual(['f1-0', 'f1-1', 'f1-2', 'f3-0', 'f3-1', 'f3-2']);
  });

  it('still resumes from the byte offset of a checkpoint taken before splits', async () => {
    const [path] = files(1, 4);
    const reader = new FileSource(path!).createReader();
    await reader.start?.(Buffer.byteLength('f0-0\nf0-1\n') as never);
    expect(await reader.read(10)).toEqual(['f0-2', 'f0-3']);
    await reader.close?.();
  });

  it.each([
    [2, 3],
    [2, 1],
    [3, 2],
    [1, 2],
  ])('restored at another parallelism (%i -> %i) reads every line exactly once', async (from, to) => {
    const paths = files(5, 40);
    const source = new FileSource(paths);
    const read: string[] = [];
    const positions: FileSplit[][] = [];
    for (let s = 0; s < from; s++) {
      const reader = source.createReader({ subtaskIndex: s, parallelism: from });
      await reader.start?.(undefined);
      // Subtask s reads 50 + 10 s lines: into its second file, or past the end of its only one.
      for (let n = 0; n < 50 + 10 * s; ) {
        const chunk = await reader.read(Math.min(7, 50 + 10 * s - n));
        if (chunk === null) break;
        read.push(...chunk);
        n += chunk.length;
      }
      positions.push(reader.position());
      await reader.close?.();
    }
    const checkpoint = { location: 'mem', checkpoint: { version: 2 as const, jobName: 'j', checkpointId: 1, timestamp: 0, final: false, operators: {}, sources: { files: { name: 'files', parallelism: from, positions } } } };
    const shares = assignRestoredState(checkpoint, [{ id: 'files', name: 'files', parallelism: to, rescalableSource: true }]).get('files')!;
    for (const [s, { position }] of shares.entries()) {
      const reader = source.createReader({ subtaskIndex: s, parallelism: to });
      await reader.start?.(position as FileSplit[]);
      for (let chunk = await reader.read(7); chunk !== null; chunk = await reader.read(7)) read.push(...chunk);
      await reader.close?.();
    }
    expect(read.sort()).toEqual(allLines(5, 40));
  });

  it.each([3, 1])('a job restored at parallelism %i from a checkpoint taken at 2 reads what it did not cover, exactly once', async (to) => {
    const paths = files(3, 30);
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const lineLength = (l: number) => `f0-${l}\n`.length;
    const offset = (lines: number) => Array.from({ length: lines }, (_, l) => lineLength(l)).reduce((a, b) => a + b, 0);
    // At parallelism 2, subtask 0 had read 10 lines of f0 (f2 still to come), subtask 1 all of f1 but 5 lines.
    const positions = [
      [
        { path: paths[0]!, offset: offset(10) },
        { path: paths[2]!, offset: 0 },
      ],
      [{ path: paths[1]!, offset: offset(25) }],
    ];
    await new FileCheckpointStorage(storage).store({ version: 2, jobName: 'files', checkpointId: 1, timestamp: 0, final: false, operators: {}, sources: { files: { name: 'files', parallelism: 2, positions } } });
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: to }).enableCheckpointing(60_000, { storage });
    const read: string[] = [];
    env
      .fromSource(new FileSource(paths), 'files')
      .uid('files')
      .addSink((line) => void read.push(line));
    await env.execute('files', { restoreFrom: 'latest' });
    const expected = [
      ...Array.from({ length: 20 }, (_, l) => `f0-${l + 10}`),
      ...Array.from({ length: 5 }, (_, l) => `f1-${l + 25}`),
      ...Array.from({ length: 30 }, (_, l) => `f2-${l}`),
    ];
    expect(read.sort()).toEqual(expected.sort());
  });
});
