import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStorage, type CompletedCheckpoint } from '../src/index.js';

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
      `Skipping checkpoint ${third}: checkpoint ${third} is corrupted (checksum mismatch)`,
      `Skipping checkpoint ${second}: checkpoint ${second} is not a Tributary checkpoint or is truncated`,
    ]);
    await expect(storage.load(third)).rejects.toThrow('corrupted (checksum mismatch)');
  });

  it('finds nothing in an empty or missing directory', async () => {
    expect(await new FileCheckpointStorage(join(tmpdir(), 'does-not-exist-ckpt')).loadLatest()).toBeUndefined();
  });
});
