import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSink, ManualClock, RestartStrategies, StreamExecutionEnvironment, type Sink, type Source } from '../src/index.js';
import { jsonLinesSink, type FileSinkOptions } from '../src/sinks/FileSink.js';
import { nodeFileSystem, type SinkFileHandle, type SinkFileSystem } from '../src/sinks/fileSystem.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';

type Operation = 'open' | 'write' | 'sync' | 'close' | 'rename' | 'rm' | 'mkdir';

/** What a faulty file system does to one call: throw with an errno code, or let it through. */
type Fault = (operation: Operation, path: string) => string | undefined;

/**
 * The real file system with injected faults: `fault` may fail any call with
 * an errno code, and `maxWrite` caps the bytes a write takes (short writes).
 */
function faultyFileSystem(fault: Fault, maxWrite = Infinity): SinkFileSystem & { faults: number } {
  const fs = {
    faults: 0,
    async check(operation: Operation, path: string): Promise<void> {
      const code = fault(operation, path);
      if (code === undefined) return;
      fs.faults++;
      throw Object.assign(new Error(`${code}: injected fault, ${operation} '${path}'`), { code });
    },
    async open(path: string, flags: 'wx' | 'r+' | 'r'): Promise<SinkFileHandle> {
      await fs.check('open', path);
      const handle = await nodeFileSystem.open(path, flags);
      return {
        write: async (buffer, offset, length, position) => {
          await fs.check('write', path);
          return handle.write(buffer, offset, Math.min(length, maxWrite), position);
        },
        read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
        truncate: (length) => handle.truncate(length),
        stat: () => handle.stat(),
        sync: async () => {
          await fs.check('sync', path);
          await handle.sync();
        },
        close: async () => {
          await handle.close();
          await fs.check('close', path);
        },
      };
    },
    async mkdir(path: string) {
      await fs.check('mkdir', path);
      await nodeFileSystem.mkdir(path);
    },
    readdir: (path: string) => nodeFileSystem.readdir(path),
    async rename(from: string, to: string) {
      await fs.check('rename', to);
      await nodeFileSystem.rename(from, to);
    },
    async rm(path: string) {
      await fs.check('rm', path);
      await nodeFileSystem.rm(path);
    },
    exists: (path: string) => nodeFileSystem.exists(path),
  };
  return fs;
}

const RECORDS = 2_000;
/** These tests do real file I/O (fsyncs included): on a loaded shared machine they need more than the default 5 s. */
const REAL_IO_TIMEOUT_MS = 30_000;
const records = () => Array.from({ length: RECORDS }, (_, id) => ({ id }));

/** The records in the visible files of `dir`; every file must end with a whole line. */
function visibleIds(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text === '' || text.endsWith('\n')).toBe(true);
      return text.split('\n').filter((l) => l !== '');
    })
    .map((l) => (JSON.parse(l) as { id: number }).id);
}

const sequence = (n: number) => Array.from({ length: n }, (_, i) => i);

function runOnce(sink: Sink<{ id: number }>, jobName: string, restarts = 0) {
  const env = StreamExecutionEnvironment.create({ restartStrategy: RestartStrategies.fixedDelay(restarts, 0) });
  env.fromCollection(records()).sinkTo(sink).name('Sink: files');
  return env.execute(jobName);
}

const sinkOn = (fs: SinkFileSystem, dir: string, options: FileSinkOptions<{ id: number }>) => jsonLinesSink(dir, options, fs);

/** What the job's metrics say: records the operator `Sink: files` took, and checkpoints completed. */
const sinkReceived = (env: StreamExecutionEnvironment, job: string) => (env.metrics.snapshot()[`job.${job}.operator.Sink: files.0.numRecordsIn`] as number | undefined) ?? 0;
const completedCheckpoints = (env: StreamExecutionEnvironment, job: string) =>
  (env.metrics.snapshot()[`job.${job}.checkpoints.numCompletedCheckpoints`] as number | undefined) ?? 0;

describe('FileSink writes every byte', { timeout: REAL_IO_TIMEOUT_MS }, () => {
  for (const guarantee of ['exactly-once', 'at-least-once'] as const) {
    it(`${guarantee}: continues short writes until every byte is written`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sink-'));
      const fs = faultyFileSystem(() => undefined, 64);
      await runOnce(sinkOn(fs, dir, { guarantee }), 'short writes');
      expect(visibleIds(dir)).toEqual(sequence(RECORDS));
    });

    it(`${guarantee}: fails the job when a write takes nothing, instead of looping or dropping`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sink-'));
      await expect(runOnce(sinkOn(faultyFileSystem(() => undefined, 0), dir, { guarantee }), 'stuck disk')).rejects.toThrow(
        /^Job 'stuck disk' failed in operator 'Sink: files': FileSink: could not write '[^']+': wrote 0 of \d+ bytes, then nothing$/,
      );
    });
  }
});

describe('FileSink durability', { timeout: REAL_IO_TIMEOUT_MS }, () => {
  it('exactly-once: fsyncs a part file before it is renamed into place, and the directory after the rename', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    const log: string[] = [];
    const fs = faultyFileSystem((op, path) => {
      log.push(`${op} ${path.endsWith('.inprogress') ? 'temp' : path === dir ? 'dir' : 'final'}`);
      return undefined;
    });
    await runOnce(sinkOn(fs, dir, {}), 'durable');
    expect(visibleIds(dir)).toEqual(sequence(RECORDS));
    const renamed = log.indexOf('rename final');
    expect(log.slice(0, renamed)).toContain('sync temp');
    expect(log.slice(0, renamed).lastIndexOf('sync temp')).toBeGreaterThan(log.lastIndexOf('write temp', renamed));
    expect(log.slice(renamed)).toEqual(expect.arrayContaining(['open dir', 'sync dir']));
  });

  it('exactly-once: a checkpoint without records publishes no file, and opens none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    const opened: string[] = [];
    const fs = faultyFileSystem((op, path) => {
      if (op === 'open' && path.endsWith('.inprogress')) opened.push(path);
      return undefined;
    });
    const clock = new ManualClock(0);
    const jobName = 'quiet spells';
    const env = StreamExecutionEnvironment.create({ clock }).enableCheckpointing(10, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    const gate = gatedSource(100);
    env.fromSource(gate.source, 'numbers').sinkTo(sinkOn(fs, dir, {}) as unknown as Sink<number>).name('Sink: files');
    const job = env.executeAsync(jobName);
    const completed = () => completedCheckpoints(env, jobName);
    gate.openUntil(50);
    await until(() => sinkReceived(env, jobName) === 50, 'records 0-49 at the sink');
    await clock.advance(10);
    await until(() => completed() === 1, 'checkpoint 1');
    // Two checkpoints while the source waits: no record reaches the sink.
    await clock.advance(10);
    await until(() => completed() === 2, 'checkpoint 2');
    await clock.advance(10);
    await until(() => completed() === 3, 'checkpoint 3');
    gate.openUntil(100);
    await driveUntilDone(job.result, clock);
    await job.result;
    const files = readdirSync(dir);
    expect(files.filter((f) => readFileSync(join(dir, f), 'utf8') === '')).toEqual([]);
    expect(files).toHaveLength(2);
    expect(opened).toHaveLength(2);
    const lines = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''));
    expect(lines.map(Number).sort((a, b) => a - b)).toEqual(sequence(100));
  });

  it('at-least-once: fsyncs its file at every checkpoint and at the end of input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    let syncs = 0;
    const fs = faultyFileSystem((op, path) => {
      if (op === 'sync' && path.endsWith('.jsonl')) syncs++;
      return undefined;
    });
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock }).enableCheckpointing(10, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    const gate = gatedSource(30);
    env.fromSource(gate.source, 'numbers').map((id) => ({ id })).sinkTo(sinkOn(fs, dir, { guarantee: 'at-least-once' }));
    const job = env.executeAsync('syncs');
    const completed = () => env.metrics.snapshot()['job.syncs.checkpoints.numCompletedCheckpoints'];
    for (const [n, checkpoint] of [[10, 1], [20, 2]] as const) {
      gate.openUntil(n);
      await clock.advance(10);
      await until(() => completed() === checkpoint, `checkpoint ${checkpoint}`);
      expect(syncs).toBe(checkpoint);
    }
    gate.openUntil(30);
    await job.result;
    expect(syncs).toBe(3);
    expect(visibleIds(dir)).toEqual(sequence(30));
  });
});

/**
 * Each async step of each sink, failed on every call: the job restarts once
 * (the strategy runs), then `execute()` rejects naming the operator, the step
 * and the file. A leaked rejection would fail the run (--unhandled-rejections=strict).
 */
const STEPS: { guarantee: 'exactly-once' | 'at-least-once'; operation: Operation; path: RegExp; code: string; action: string; leftover?: boolean }[] = [
  { guarantee: 'exactly-once', operation: 'mkdir', path: /out$/, code: 'EACCES', action: 'create directory' },
  { guarantee: 'exactly-once', operation: 'open', path: /inprogress$/, code: 'EACCES', action: 'create' },
  { guarantee: 'exactly-once', operation: 'write', path: /inprogress$/, code: 'EIO', action: 'write' },
  { guarantee: 'exactly-once', operation: 'sync', path: /inprogress$/, code: 'EIO', action: 'fsync' },
  { guarantee: 'exactly-once', operation: 'close', path: /inprogress$/, code: 'EIO', action: 'close' },
  { guarantee: 'exactly-once', operation: 'rename', path: /jsonl$/, code: 'EXDEV', action: 'publish' },
  { guarantee: 'exactly-once', operation: 'open', path: /out$/, code: 'EMFILE', action: 'fsync directory' },
  // A part file only exists once it has a record: what is removed is a crashed earlier run's leftover.
  { guarantee: 'exactly-once', operation: 'rm', path: /inprogress$/, code: 'EBUSY', action: 'remove', leftover: true },
  { guarantee: 'at-least-once', operation: 'mkdir', path: /out$/, code: 'EACCES', action: 'create directory' },
  { guarantee: 'at-least-once', operation: 'open', path: /jsonl$/, code: 'EMFILE', action: 'create' },
  { guarantee: 'at-least-once', operation: 'open', path: /out$/, code: 'EACCES', action: 'fsync directory' },
  { guarantee: 'at-least-once', operation: 'write', path: /jsonl$/, code: 'ENOSPC', action: 'write' },
  { guarantee: 'at-least-once', operation: 'sync', path: /jsonl$/, code: 'EIO', action: 'fsync' },
  { guarantee: 'at-least-once', operation: 'close', path: /jsonl$/, code: 'EIO', action: 'close' },
];

describe('FileSink failures reach the job', { timeout: REAL_IO_TIMEOUT_MS }, () => {
  for (const { guarantee, operation, path, code, action, leftover } of STEPS) {
    it(`${guarantee}: ${operation} failing with ${code} restarts the job, then fails it naming the sink and the file`, async () => {
      const dir = join(mkdtempSync(join(tmpdir(), 'sink-')), 'out');
      if (leftover === true) {
        mkdirSync(dir);
        writeFileSync(join(dir, '.part-0-0ld0run0-000003.jsonl.inprogress'), '{"id":-1}\n');
      }
      const fs = faultyFileSystem((op, p) => (op === operation && path.test(p) ? code : undefined));
      const escaped = dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      await expect(runOnce(sinkOn(fs, dir, { guarantee }), 'faulty', 1)).rejects.toThrow(
        new RegExp(`^Job 'faulty' failed after 1 restart in operator 'Sink: files': FileSink: could not ${action} '${escaped}[^']*': ${code}: injected fault`),
      );
      expect(fs.faults).toBeGreaterThanOrEqual(2);
    });
  }

  it('exactly-once: a part file that cannot be opened (EMFILE) for the records after a barrier fails the job at its pre-commit, not the process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    let opens = 0;
    const fs = faultyFileSystem((op, p) => (op === 'open' && p.endsWith('.inprogress') && ++opens === 2 ? 'EMFILE' : undefined));
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock }).enableCheckpointing(10, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    const gate = gatedSource(100);
    env.fromSource(gate.source, 'numbers').sinkTo(sinkOn(fs, dir, {}) as unknown as Sink<number>).name('Sink: files');
    const job = env.executeAsync('barrier');
    gate.openUntil(50);
    await until(() => sinkReceived(env, 'barrier') === 50, 'records 0-49 at the sink');
    await clock.advance(10);
    await until(() => completedCheckpoints(env, 'barrier') === 1, 'checkpoint 1');
    gate.openUntil(100);
    await expect(job.result).rejects.toThrow(/^Job 'barrier' failed in operator 'Sink: files': FileSink: could not create '[^']+-000001\.jsonl\.inprogress': EMFILE/);
  });
});

/** A writer of subtask 0 of 1, made as the runtime makes it. */
const writerOf = (sink: Sink<{ id: number }>) =>
  Promise.resolve(sink.createWriter({ subtaskIndex: 0, parallelism: 1, metrics: undefined as never, log: undefined as never, restoredState: undefined }));

/** What `fn` throws (synchronously or by rejecting), as text; 'no error' when it does not. */
const failure = async (fn: () => unknown) => {
  try {
    await fn();
    return 'no error';
  } catch (error) {
    return String(error);
  }
};

describe('FileSink after close()', { timeout: REAL_IO_TIMEOUT_MS }, () => {
  it('exactly-once: a write after close() fails naming the sink and opens no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    const opened: string[] = [];
    const fs = faultyFileSystem((op, path) => {
      if (op === 'open' && path !== dir) opened.push(path);
      return undefined;
    });
    const writer = await writerOf(sinkOn(fs, dir, {}));
    await writer.write({ id: 0 });
    expect(await writer.snapshotListState?.(1)).toEqual({ parts: [expect.objectContaining({ length: 9 })] });
    await writer.write({ id: 1 });
    await writer.close?.();
    // The part checkpoint 1 holds stays hidden for a restore to publish; the open one is gone.
    const files = readdirSync(dir);
    expect(files).toEqual([expect.stringMatching(/^\.part-0-[0-9a-f]{8}-000000\.jsonl\.inprogress$/)]);
    expect(opened).toHaveLength(2);
    expect(await failure(() => writer.write({ id: 2 }))).toMatch(/^Error: FileSink: write\(\) after close\(\) in subtask 0: the writer is closed/);
    expect(await failure(() => writer.snapshotListState?.(2))).toMatch(/^Error: FileSink: snapshotListState\(2\) after close\(\)/);
    // Closing again neither fails nor touches the directory.
    await writer.close?.();
    expect(readdirSync(dir)).toEqual(files);
    expect(opened).toHaveLength(2);
  });

  it('exactly-once: after an empty checkpoint (no part opened) and close(), a write fails and opens no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    const writer = await writerOf(sinkOn(nodeFileSystem, dir, {}));
    expect(await writer.snapshotListState?.(1)).toEqual({ parts: [] });
    await writer.close?.();
    expect(await failure(() => writer.write({ id: 0 }))).toMatch(/^Error: FileSink: write\(\) after close\(\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('exactly-once: when close() fails removing the open part file, a second close() does not remove again, and a write after both fails and opens no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    let opens = 0;
    let removes = 0;
    const fs = faultyFileSystem((op, path) => {
      if (op === 'open' && path !== dir) opens++;
      if (op === 'rm' && path.endsWith('.inprogress')) return ++removes === 1 ? 'EBUSY' : undefined;
      return undefined;
    });
    const writer = await writerOf(sinkOn(fs, dir, {}));
    await writer.write({ id: 0 });
    const first = await failure(() => writer.close?.());
    expect(first).toMatch(/^Error: FileSink: could not remove '.*\.inprogress': EBUSY/);
    expect(await failure(() => writer.close?.())).toBe(first);
    expect(removes).toBe(1);
    expect(await failure(() => writer.write({ id: 1 }))).toMatch(/^Error: FileSink: write\(\) after close\(\)/);
    // Only the part file close() could not remove, left to the next start's cleanup.
    expect(readdirSync(dir)).toHaveLength(1);
    expect(opens).toBe(1);
  });

  it('at-least-once: a write after close() fails naming the sink and the file, and the file keeps what was written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    const writer = await writerOf(sinkOn(nodeFileSystem, dir, { guarantee: 'at-least-once' }));
    await writer.write({ id: 0 });
    await writer.flush?.();
    await writer.close?.();
    expect(await failure(() => writer.write({ id: 1 }))).toMatch(/^Error: FileSink: write\(\) after close\(\) in subtask 0: '.*part-0-[0-9a-f]{8}\.jsonl' is closed/);
    expect(await failure(() => writer.flush?.())).toMatch(/^Error: FileSink: '.*\.jsonl' is closed/);
    await writer.close?.();
    expect(readdirSync(dir)).toHaveLength(1);
    expect(visibleIds(dir)).toEqual([0]);
  });
});

/** A source of 0 ... total-1 that fails once, at `failAt`, after the test lets it. */
function failingOnce(total: number, failAt: number): { source: Source<number, number>; arm: () => void } {
  let armed = false;
  let failed = false;
  const source: Source<number, number> = {
    createReader: () => {
      let next = 0;
      return {
        start: (position) => {
          next = position ?? 0;
        },
        read: async () => {
          if (next === failAt && !failed) {
            while (!armed) await new Promise((resolve) => setImmediate(resolve));
            failed = true;
            throw new Error('source broke');
          }
          return next >= total ? null : [next++];
        },
        position: () => next,
      };
    },
  };
  return { source, arm: () => (armed = true) };
}

describe('at-least-once FileSink across runs', { timeout: REAL_IO_TIMEOUT_MS }, () => {
  it('a run without a checkpoint to restore writes new files and leaves an earlier run\'s files as they were', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    await runOnce(FileSink.jsonLines(dir, { guarantee: 'at-least-once' }), 'first');
    const [first] = readdirSync(dir);
    const firstContent = readFileSync(join(dir, first as string), 'utf8');
    await runOnce(FileSink.jsonLines(dir, { guarantee: 'at-least-once' }), 'second');
    const files = readdirSync(dir);
    expect(files).toHaveLength(2);
    expect(files.every((f) => /^part-0-[0-9a-f]{8}\.jsonl$/.test(f))).toBe(true);
    expect(readFileSync(join(dir, first as string), 'utf8')).toBe(firstContent);
    expect(visibleIds(dir).sort((a, b) => a - b)).toEqual(sequence(RECORDS).flatMap((i) => [i, i]));
  });

  it('a restored run continues its file from what the checkpoint covered: no second file, no duplicates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, restartStrategy: RestartStrategies.fixedDelay(1, 0) });
    env.enableCheckpointing(10, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    const { source, arm } = failingOnce(300, 250);
    let written = 0;
    env
      .fromSource(source, 'numbers')
      .map((n) => {
        written = n;
        return { id: n };
      })
      .sinkTo(FileSink.jsonLines(dir, { guarantee: 'at-least-once' }));
    const job = env.executeAsync('resumed');
    await until(() => written >= 100, '100 records');
    await clock.advance(10);
    await until(() => (env.metrics.snapshot()['job.resumed.checkpoints.numCompletedCheckpoints'] as number) === 1, 'checkpoint 1');
    await until(() => written === 249, 'records after the checkpoint');
    arm();
    await driveUntilDone(job.result, clock);
    expect((await job.result).restarts).toBe(1);
    expect(readdirSync(dir)).toHaveLength(1);
    expect(visibleIds(dir)).toEqual(sequence(300));
  });

  /** Creates a restored at-least-once writer for `file` in `dir`; resolves 'opened' or the error's text. */
  const reopen = (dir: string, file: string, length: number) =>
    Promise.resolve(
      FileSink.jsonLines<{ id: number }>(dir, { guarantee: 'at-least-once' }).createWriter({
        subtaskIndex: 0,
        parallelism: 1,
        metrics: undefined as never,
        log: undefined as never,
        restoredState: { file, length },
      }),
    );

  it('cuts a restored file back to the length its checkpoint covered before it writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    writeFileSync(join(dir, 'part-0-earlier.jsonl'), '{"id":0}\n{"id":1}\n{"id":2}\n');
    const writer = await reopen(dir, 'part-0-earlier.jsonl', 9);
    await writer.write({ id: 7 });
    await writer.flush?.();
    await writer.close?.();
    expect(readFileSync(join(dir, 'part-0-earlier.jsonl'), 'utf8')).toBe('{"id":0}\n{"id":7}\n');
  });

  it('refuses to continue a file that is gone or lost bytes the checkpoint covers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    writeFileSync(join(dir, 'part-0-short.jsonl'), '{"id":0}\n');
    const outcome = (file: string) =>
      reopen(dir, file, 20).then(
        () => 'opened',
        (error: unknown) => String(error),
      );
    expect(await outcome('part-0-gone.jsonl')).toMatch(/^Error: FileSink: could not reopen '.*part-0-gone\.jsonl': ENOENT/);
    expect(await outcome('part-0-short.jsonl')).toMatch(
      /^Error: FileSink: could not reopen '.*part-0-short\.jsonl': it holds 9 bytes, fewer than the 20 the checkpoint covers/,
    );
  });
});

describe('FileSink writes one line per record, or fails naming the encoder', { timeout: REAL_IO_TIMEOUT_MS }, () => {
  const run = (records: unknown[], options: FileSinkOptions<unknown>) => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    const env = StreamExecutionEnvironment.create();
    env.fromCollection(records).sinkTo(FileSink.jsonLines(dir, options)).name('files');
    return { dir, done: env.execute('lines') };
  };

  for (const guarantee of ['exactly-once', 'at-least-once'] as const) {
    it(`${guarantee}: a record without a JSON form (undefined, a function) fails the job, saying to give an encode option`, async () => {
      for (const record of [undefined, () => 1]) {
        await expect(run([{ id: 1 }, record], { guarantee }).done).rejects.toThrow(
          /failed in operator 'files': FileSink: a record has no JSON form \(JSON.stringify\(\) returned undefined for (undefined|a function)\); give FileSink.jsonLines\(\) an encode option/,
        );
      }
    });

    it(`${guarantee}: a record whose JSON outgrows V8's longest string fails the job saying so`, async () => {
      // Standing in for a 300-million-character string of quotes, which JSON.stringify fails on the same way.
      const huge = { toJSON: () => { throw new RangeError('Invalid string length'); } };
      await expect(run([huge], { guarantee }).done).rejects.toThrow(/FileSink: a record's JSON line would be longer than the longest string V8 holds/);
    });

    it(`${guarantee}: an encode() that returns no string, or a line break, fails the job naming encode()`, async () => {
      await expect(run([1], { guarantee, encode: () => undefined as never }).done).rejects.toThrow(
        "failed in operator 'files': FileSink: encode() returned undefined for a record; it must return the record's line, a string",
      );
      await expect(run([1], { guarantee, encode: () => 7 as never }).done).rejects.toThrow('FileSink: encode() returned 7 for a record');
      await expect(run([1], { guarantee, encode: (n) => `${String(n)}\nmore` }).done).rejects.toThrow(
        'FileSink: encode() returned a line break for a record; it must return one line',
      );
    });
  }

  it('writes an Error in a record (a dead letter\'s) with its name and message, not as {}', async () => {
    const { dir, done } = run([{ input: 7, error: new RangeError('quota exceeded'), attempts: 3 }], {});
    await done;
    const lines = readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''));
    expect(lines).toEqual(['{"input":7,"error":{"name":"RangeError","message":"quota exceeded"},"attempts":3}']);
  });

  it('an encode() that returns one line per record is written as it is', async () => {
    const { dir, done } = run([1, 2, 3], { encode: (n) => `n=${String(n)}` });
    await done;
    const lines = readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''));
    expect(lines.sort()).toEqual(['n=1', 'n=2', 'n=3']);
  });
});

describe('FileSink restored from a checkpoint taken with the other guarantee', { timeout: REAL_IO_TIMEOUT_MS }, () => {
  /** Creates a restored writer with `guarantee`; resolves 'opened' or the error's text. */
  const restore = (dir: string, guarantee: 'exactly-once' | 'at-least-once', state: { own?: object; union?: object }) =>
    Promise.resolve(
      FileSink.jsonLines<{ id: number }>(dir, { guarantee }).createWriter({
        subtaskIndex: 0,
        parallelism: 1,
        metrics: undefined as never,
        log: undefined as never,
        restoredListState: state.own as never,
        restoredUnionListState: state.union as never,
        restoredState: undefined,
      }),
    ).then(
      async (writer) => {
        await writer.close?.();
        return 'opened';
      },
      (error: unknown) => String(error),
    );

  it('fails the restore naming both guarantees, instead of leaving the parts unpublished or the file uncut', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    writeFileSync(join(dir, '.part-0-x-000000.jsonl.inprogress'), '{"id":0}\n');
    const parts = { parts: [{ temp: join(dir, '.part-0-x-000000.jsonl.inprogress'), final: join(dir, 'part-0-x-000000.jsonl') }] };
    expect(await restore(dir, 'at-least-once', { own: parts, union: parts })).toMatch(
      /^Error: FileSink: the checkpoint holds the sink at '.*' with guarantee 'exactly-once', and it is restored with 'at-least-once'/,
    );
    // The part the checkpoint covers is still there, hidden, for a restore with the right guarantee to publish.
    expect(readdirSync(dir)).toEqual(['.part-0-x-000000.jsonl.inprogress']);
    const files = { files: [{ file: 'part-0-abcd1234.jsonl', length: 0 }] };
    expect(await restore(dir, 'exactly-once', { own: files })).toMatch(/with guarantee 'at-least-once', and it is restored with 'exactly-once'/);
    // A writer that got no share (restored at a higher parallelism) sees the others' in the union state.
    expect(await restore(dir, 'exactly-once', { union: files })).toMatch(/with guarantee 'at-least-once'/);
    expect(await restore(dir, 'exactly-once', { own: parts, union: parts })).toBe('opened');
  });
});
