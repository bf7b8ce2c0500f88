import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, RestartStrategies, StreamExecutionEnvironment } from '@tributary/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * File sinks on a real disk that fails: a 100 KB tmpfs that fills up, and a
 * read-only tmpfs. CI runs as root, so it can mount; a failed mount fails
 * the test (a skipped fault test proves nothing).
 */

const RECORDS = 20_000;
const GUARANTEES = ['exactly-once', 'at-least-once'] as const;

function mountTmpfs(options: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'filesink-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `these fault tests need to mount a tmpfs (run as root): mount -t tmpfs -o ${options} tmpfs ${dir} failed: ${String((error as { stderr?: unknown }).stderr ?? error)}`,
      { cause: error },
    );
  }
  return dir;
}

function unmount(dir: string | undefined): void {
  if (dir === undefined) return;
  execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true });
}

/** 20,000 records of about 70 bytes: 1.4 MB of output, far more than the disk holds. */
function buildJob(env: StreamExecutionEnvironment, out: string, guarantee: (typeof GUARANTEES)[number]): void {
  env
    .fromCollection(Array.from({ length: RECORDS }, (_, id) => ({ id, payload: `record ${id} `.padEnd(48, '.') })))
    .sinkTo(FileSink.jsonLines(out, { guarantee }))
    .name('Sink: files');
}

/** The visible (not hidden) files and their contents. */
function visibleFiles(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).filter((f) => !f.startsWith('.')).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/** Ids of the records in the visible files; every file must hold whole lines only. */
function visibleIds(dir: string): number[] {
  return [...visibleFiles(dir).values()].flatMap((text) => {
    expect(text === '' || text.endsWith('\n')).toBe(true);
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { id: number }).id);
  });
}

describe('FileSink on a full disk (100 KB tmpfs)', () => {
  let disk: string | undefined;
  beforeAll(() => {
    disk = mountTmpfs('size=100k');
  });
  afterEach(() => {
    for (const entry of readdirSync(disk as string)) rmSync(join(disk as string, entry), { recursive: true });
    execFileSync('mount', ['-o', 'remount,size=100k', disk as string]);
  });
  afterAll(() => unmount(disk));

  for (const guarantee of GUARANTEES) {
    it(`${guarantee}: fails naming the sink, the file and ENOSPC after its restarts; once space is freed, a restore loses nothing`, async () => {
      const out = join(disk as string, guarantee);
      const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
      const env = StreamExecutionEnvironment.create({ restartStrategy: RestartStrategies.fixedDelay(2, 0) });
      env.enableCheckpointing(5, { storage });
      buildJob(env, out, guarantee);
      await expect(env.execute(`full disk ${guarantee}`)).rejects.toThrow(
        new RegExp(`^Job 'full disk ${guarantee}' failed after 2 restarts in operator 'Sink: files': FileSink: could not (write|fsync) '${out}/[^']+': ENOSPC`),
      );
      const beforeRestore = visibleIds(out);
      expect(beforeRestore.length).toBeLessThan(RECORDS);
      // Exactly-once publishes only whole, fsynced part files, each once.
      if (guarantee === 'exactly-once') expect(new Set(beforeRestore).size).toBe(beforeRestore.length);

      execFileSync('mount', ['-o', 'remount,size=8m', disk as string]);
      const resumed = StreamExecutionEnvironment.create();
      resumed.enableCheckpointing(5, { storage });
      buildJob(resumed, out, guarantee);
      await resumed.execute(`full disk ${guarantee}`, { restoreFrom: 'latest' });
      const ids = visibleIds(out);
      const duplicates = ids.length - new Set(ids).size;
      console.log(`full disk, ${guarantee}: 3 runs failed with ENOSPC, then ${ids.length} records after the restore, ${RECORDS - new Set(ids).size} lost, ${duplicates} duplicates`);
      expect(new Set(ids).size).toBe(RECORDS);
      if (guarantee === 'exactly-once') expect(duplicates).toBe(0);
    });
  }
});

describe('FileSink on a read-only disk', () => {
  let disk: string | undefined;
  beforeAll(() => {
    disk = mountTmpfs('ro,size=100k');
  });
  afterAll(() => unmount(disk));

  for (const guarantee of GUARANTEES) {
    it(`${guarantee}: a part file that cannot be created (EROFS) fails the job after its restarts, naming the sink`, async () => {
      const env = StreamExecutionEnvironment.create({ restartStrategy: RestartStrategies.fixedDelay(1, 0) });
      buildJob(env, disk as string, guarantee);
      await expect(env.execute(`read-only ${guarantee}`)).rejects.toThrow(
        new RegExp(`^Job 'read-only ${guarantee}' failed after 1 restart in operator 'Sink: files': FileSink: could not create '${disk}/[^']+': EROFS`),
      );
    });

    it(`${guarantee}: a directory that cannot be created (EROFS) fails the job, naming it`, async () => {
      const env = StreamExecutionEnvironment.create();
      buildJob(env, join(disk as string, 'out'), guarantee);
      // Node's recursive mkdir reports a read-only parent as ENOENT.
      await expect(env.execute(`read-only dir ${guarantee}`)).rejects.toThrow(
        new RegExp(`^Job 'read-only dir ${guarantee}' failed in operator 'Sink: files': FileSink: could not create directory '${disk}/out': (EROFS|ENOENT)`),
      );
    });
  }
});
