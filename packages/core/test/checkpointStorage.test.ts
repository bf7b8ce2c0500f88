import { spawnSync } from 'node:child_process';
import { serialize } from 'node:v8';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStorage, HeapKeyedStateBackend, InvalidJobError, ValueStateDescriptor, type CompletedCheckpoint } from '../src/index.js';
import { deserializeValue } from '../src/runtime/checkpoint/deserializeValue.js';

const checkpoint = (id: number, value: unknown): CompletedCheckpoint => ({
  version: 1,
  jobName: 'j',
  checkpointId: id,
  timestamp: id * 10,
  final: false,
  operators: { op: { name: 'op', parallelism: 1, subtasks: [{ operatorState: value }] } },
  sources: { src: { name: 'src', parallelism: 1, positions: [id * 100] } },
});

describe('FileCheckpointStorage', () => {
  it('reads back the most deeply nested keyed state value a snapshot accepts (a checkpoint file nests it deeper)', async () => {
    const nested = (depth: number) => {
      let value: unknown = 0;
      for (let i = 0; i < depth; i++) value = { value };
      return value;
    };
    const backend = new HeapKeyedStateBackend();
    const state = backend.getState(new ValueStateDescriptor<unknown>('deep'));
    backend.setCurrentKey('k');
    const accepted = (depth: number) => {
      state.update(nested(depth));
      try {
        backend.snapshot();
        return true;
      } catch {
        return false;
      }
    };
    // The deepest value snapshot() takes, on this thread's stack.
    let [low, high] = [1, 100_000];
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (accepted(mid)) low = mid;
      else high = mid - 1;
    }
    expect(accepted(low)).toBe(true);
    const stored: CompletedCheckpoint = { ...checkpoint(1, undefined), operators: { op: { name: 'op', parallelism: 1, subtasks: [{ keyedState: backend.snapshot() }] } } };
    // Read back as a restore reads a checkpoint file, on a stack as deep as the snapshot's (no deeper than a restore's).
    const read = deserializeValue(serialize(stored)) as CompletedCheckpoint;
    expect(read.checkpointId).toBe(1);
  });

  it('round-trips the values state may hold: Map, Set, Date, BigInt, typed arrays', async () => {
    const storage = new FileCheckpointStorage(mkdtempSync(join(tmpdir(), 'ckpt-')));
    const value = {
      map: new Map([['a', 1]]),
      set: new Set([1, 2]),
      date: new Date(86_400_000),
      big: 2n ** 70n,
      floats: new Float32Array([0.5, 1.5]),
      nested: [{ x: null, y: undefined }],
    };
    const { location, bytes } = await storage.store(checkpoint(1, value));
    expect(bytes).toBe(readFileSync(location).length);
    const loaded = await storage.load(location);
    expect(loaded.checkpoint.operators.op?.subtasks[0]?.operatorState).toEqual(value);
    expect(loaded.checkpoint.sources.src?.positions).toEqual([100]);
  });

  it('gives every typed array, Buffer and DataView it loads its own memory: none shows or holds the rest of the checkpoint', async () => {
    const storage = new FileCheckpointStorage(mkdtempSync(join(tmpdir(), 'ckpt-')));
    const secret = 'x'.repeat(100_000);
    const value = {
      alice: Uint8Array.of(1, 2, 3),
      bob: { token: secret, vector: Float32Array.of(0.5, 1.5, 2.5) },
      name: Buffer.from('ana'),
      header: new DataView(Uint8Array.of(7, 8).buffer),
      window: new Float64Array([1, 2, 3, 4]).subarray(1, 3),
    };
    const { location } = await storage.store(checkpoint(1, value));
    const loaded = (await storage.load(location)).checkpoint.operators.op?.subtasks[0]?.operatorState as typeof value;
    expect(loaded).toEqual({ ...value, window: Float64Array.of(2, 3) });
    for (const view of [loaded.alice, loaded.bob.vector, loaded.name, loaded.header, loaded.window]) {
      expect([view.byteOffset, view.buffer.byteLength]).toEqual([0, view.byteLength]);
    }
    expect(Buffer.isBuffer(loaded.name) && loaded.name.toString()).toBe('ana');
  });

  it('refuses a value it cannot write (a SharedArrayBuffer), naming the operator that holds it', async () => {
    const storage = new FileCheckpointStorage(mkdtempSync(join(tmpdir(), 'ckpt-')));
    await expect(storage.store(checkpoint(1, { shared: new SharedArrayBuffer(8) }))).rejects.toThrow(
      "operator 'op' holds a value a checkpoint file cannot store: #<SharedArrayBuffer> could not be cloned.",
    );
  });

  it('loads format versions 1 (before list state) and 2; refuses a newer one, whose state this code might drop', async () => {
    const storage = new FileCheckpointStorage(mkdtempSync(join(tmpdir(), 'ckpt-')));
    const withLists = { ...checkpoint(2, 0), version: 2 as const, operators: { op: { name: 'op', parallelism: 1, subtasks: [{ listState: { items: [1, 2] } }] } } };
    expect((await storage.load((await storage.store(checkpoint(1, 'old'))).location)).checkpoint.operators.op?.subtasks[0]?.operatorState).toBe('old');
    expect((await storage.load((await storage.store(withLists)).location)).checkpoint.operators.op?.subtasks[0]?.listState).toEqual({ items: [1, 2] });
    const { location } = await storage.store({ ...checkpoint(3, 0), version: 3 } as unknown as CompletedCheckpoint);
    await expect(storage.load(location)).rejects.toThrow(/has unknown format version 3/);
  });

  it('refuses a file whose checksum holds but whose content is not a checkpoint, naming it, so that latest falls back', async () => {
    const storage = new FileCheckpointStorage(mkdtempSync(join(tmpdir(), 'ckpt-')));
    const good = await storage.store(checkpoint(1, 'kept'));
    const noOperators = await storage.store({ ...checkpoint(2, 0), operators: undefined } as unknown as CompletedCheckpoint);
    await expect(storage.load(noOperators.location)).rejects.toThrow(`checkpoint ${noOperators.location} is not a Tributary checkpoint: it lacks its operators or its sources' positions`);
    const noPositions = await storage.store({ ...checkpoint(3, 0), sources: { src: { name: 'src', parallelism: 1 } } } as unknown as CompletedCheckpoint);
    await expect(storage.load(noPositions.location)).rejects.toThrow('is not a Tributary checkpoint');
    expect((await storage.loadLatest())?.location).toBe(good.location);
  });

  it('keeps the newest `retain` checkpoints and leaves no temporary files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const storage = new FileCheckpointStorage(dir, { retain: 2 });
    for (let id = 1; id <= 5; id++) await storage.store(checkpoint(id, id));
    expect(readdirSync(dir).sort()).toEqual(['chk-0000000004.ckpt', 'chk-0000000005.ckpt']);
    expect((await storage.loadLatest())?.checkpoint.checkpointId).toBe(5);
  });

  it('skips a corrupted or torn latest checkpoint with a warning, in favour of the previous one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const warnings: string[] = [];
    const storage = new FileCheckpointStorage(dir, { onWarning: (m) => warnings.push(m) });
    await storage.store(checkpoint(1, 'one'));
    await storage.store(checkpoint(2, 'two'));
    const { location: third } = await storage.store(checkpoint(3, 'three'));
    // Flip one byte of the payload of checkpoint 3, and tear checkpoint 2 in half.
    const bytes = readFileSync(third);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 0xff, bytes.length - 3);
    writeFileSync(third, bytes);
    const second = join(dir, 'chk-0000000002.ckpt');
    writeFileSync(second, readFileSync(second).subarray(0, 20));

    const latest = await storage.loadLatest();
    expect(latest?.checkpoint.checkpointId).toBe(1);
    expect(warnings).toEqual([
      `Skipping damaged checkpoint: checkpoint ${third} is corrupted (checksum mismatch)`,
      `Skipping damaged checkpoint: checkpoint ${second} is not a Tributary checkpoint or is truncated`,
    ]);
    await expect(storage.load(third)).rejects.toThrow('corrupted (checksum mismatch)');
  });

  it('finds nothing in an empty or missing directory', async () => {
    const missing = new FileCheckpointStorage(join(tmpdir(), 'does-not-exist-ckpt'));
    expect(await missing.loadLatest()).toBeUndefined();
    expect(await missing.highestCheckpointId()).toBe(0);
    expect(await new FileCheckpointStorage(mkdtempSync(join(tmpdir(), 'ckpt-'))).loadLatest()).toBeUndefined();
  });

  it('rejects when every checkpoint is damaged, naming the directory and what is wrong with each (at most five)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const storage = new FileCheckpointStorage(dir, { retain: 10, onWarning: () => expect.unreachable('no warning when nothing is restored') });
    for (let id = 1; id <= 7; id++) {
      const { location } = await storage.store(checkpoint(id, id));
      writeFileSync(location, readFileSync(location).subarray(0, id === 7 ? 60 : 10));
    }
    const error = await storage.loadLatest().catch((e: unknown) => e);
    const name = (id: number) => join(dir, `chk-000000000${id}.ckpt`);
    expect((error as Error).message).toBe(
      `none of the 7 checkpoints in ${dir} is intact: checkpoint ${name(7)} is corrupted (checksum mismatch); ` +
        [6, 5, 4, 3].map((id) => `checkpoint ${name(id)} is not a Tributary checkpoint or is truncated`).join('; ') +
        '; and 2 more',
    );
    // Damaged files still count: the next checkpoint is not numbered 1 again.
    expect(await storage.highestCheckpointId()).toBe(7);
  });

  it('removes temporary files of interrupted writes on first use, unless their writer is alive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    const temp = (pid: number) => `chk-0000000003.ckpt.tmp-${pid}`;
    for (const pid of [gone, process.pid, process.ppid]) writeFileSync(join(dir, temp(pid)), 'torn');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    expect(await new FileCheckpointStorage(dir).highestCheckpointId()).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', temp(process.ppid)].sort());
  });

  it("leaves the temporary file of a store in flight in this process to it: a second storage's first use (a loadLatest() beside a running job) does not take it for a leftover", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const writer = new FileCheckpointStorage(dir);
    await writer.highestCheckpointId();
    // Large enough that its write and fsync take a while: the reader comes while the temporary file exists.
    const storing = writer.store(checkpoint(1, 'x'.repeat(32 << 20)));
    const giveUpAt = performance.now() + 20_000;
    while (!readdirSync(dir).some((f) => f.includes('.tmp-')) && performance.now() < giveUpAt) await new Promise((resolve) => setImmediate(resolve));
    expect(readdirSync(dir).some((f) => f.includes('.tmp-'))).toBe(true);
    // Before, this removed the writer's temporary file, and its rename failed with ENOENT.
    expect(await new FileCheckpointStorage(dir).loadLatest()).toBeUndefined();
    await expect(storing).resolves.toMatchObject({ location: join(dir, 'chk-0000000001.ckpt') });
    expect((await new FileCheckpointStorage(dir).loadLatest())?.checkpoint.checkpointId).toBe(1);
  });

  it('creates checkpoint files 0600 and their directory 0700, or what is configured', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'private');
    const { location } = await new FileCheckpointStorage(dir).store(checkpoint(1, 'secret'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(location).mode & 0o777).toBe(0o600);

    // 0o660 and 0o770 would lose their group write bit to a 022 umask without the explicit chmod.
    const shared = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'shared');
    const stored = await new FileCheckpointStorage(shared, { fileMode: 0o660, directoryMode: 0o770 }).store(checkpoint(1, 'x'));
    expect(statSync(shared).mode & 0o777).toBe(0o770);
    expect(statSync(stored.location).mode & 0o777).toBe(0o660);
  });

  it('rejects bad options by name when the job is built', () => {
    const make = (options: object) => () => new FileCheckpointStorage('x', options);
    expect(make({ retian: 2 })).toThrow(InvalidJobError);
    expect(make({ retian: 2 })).toThrow("FileCheckpointStorage: unknown option 'retian'; did you mean 'retain'? (known: retain, onWarning, fileMode, directoryMode)");
    expect(make({ retain: 0 })).toThrow("FileCheckpointStorage: option 'retain' must be an integer >= 1, got 0");
    expect(make({ fileMode: 0o400 })).toThrow(
      "FileCheckpointStorage: option 'fileMode' must be a permission mode within 0o777 that includes 0o600, got 0o400",
    );
    expect(make({ directoryMode: 0o1777 })).toThrow("option 'directoryMode' must be a permission mode within 0o777 that includes 0o700, got 0o1777");
    expect(make({ fileMode: '600' })).toThrow("option 'fileMode' must be an integer >= 0, got '600'");
    expect(make({ onWarning: 'log' })).toThrow("option 'onWarning' must be a function, got 'log'");
  });
});
