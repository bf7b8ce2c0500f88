import { mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStorage, FileSink, makeDirectory, StreamExecutionEnvironment } from '../src/index.js';

// Node's own recursive mkdir never settles on these paths: a broken helper makes these tests time out.
describe('makeDirectory', () => {
  it('creates missing parents and returns the first directory it created; undefined when it existed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mkdir-'));
    expect(await makeDirectory(join(root, 'a', 'b', 'c'), 0o750)).toBe(join(root, 'a'));
    expect(statSync(join(root, 'a', 'b', 'c')).isDirectory()).toBe(true);
    expect(statSync(join(root, 'a', 'b')).mode & 0o777).toBe(0o750 & ~process.umask());
    expect(await makeDirectory(join(root, 'a', 'b', 'c'))).toBeUndefined();
    expect(await makeDirectory(join(root, 'a', 'd'))).toBe(join(root, 'a', 'd'));
  });

  it('fails where a parent cannot hold the child, instead of retrying forever: under /proc, below a dangling symlink, below a file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mkdir-'));
    symlinkSync(join(root, 'gone'), join(root, 'dangling'));
    writeFileSync(join(root, 'file'), '');
    if (process.platform === 'linux') await expect(makeDirectory('/proc/tributary-test/out')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(makeDirectory(join(root, 'dangling', 'out'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(makeDirectory(join(root, 'file'))).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(makeDirectory(join(root, 'file', 'out'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  // Linux only (CI's platform): elsewhere there is no /proc to try.
  it.runIf(process.platform === 'linux')('lets a FileSink and file checkpoints under /proc fail the job, naming the directory, where they hung', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    env.fromElements(1, 2, 3).sinkTo(FileSink.jsonLines('/proc/tributary-test/out')).name('Sink: files');
    await expect(env.execute('procfs')).rejects.toThrow("FileSink: could not create directory '/proc/tributary-test/out': ENOENT");

    const storage = new FileCheckpointStorage('/proc/tributary-test/checkpoints');
    await expect(storage.store({ checkpointId: 1, jobName: 'j', timestamp: 0, operators: {} } as never)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
