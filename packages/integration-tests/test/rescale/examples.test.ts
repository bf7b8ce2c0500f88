import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCheckpointStorage, redistributeListState, StreamExecutionEnvironment, type OperatorSnapshot } from '@tributary/core';
import { OneInputOperatorHarness } from '@tributary/testing';
import { describe, expect, it } from 'vitest';
import { HoldUntilEnd } from './holdUntilEnd.js';
import { partitioned } from './partitionedSource.js';

describe('docs/fault-tolerance.md: writing parts that rescale', () => {
  it('HoldUntilEnd, held at parallelism 2 and restored at 3, emits every record once', async () => {
    const snapshots: OperatorSnapshot[] = [];
    for (const records of [
      [1, 2, 3],
      [4, 5],
    ]) {
      const old = new OneInputOperatorHarness<number, number>((ctx) => new HoldUntilEnd(ctx));
      await old.open();
      old.processElements(records);
      snapshots.push(old.snapshot());
      await old.close();
    }
    const out: number[][] = [];
    for (const share of redistributeListState(
      snapshots.map((s) => s.listState),
      3,
    ).shares) {
      const restored = new OneInputOperatorHarness<number, number>((ctx) => new HoldUntilEnd(ctx));
      restored.initializeState({ listState: share });
      await restored.open();
      await restored.endInput();
      out.push(restored.getOutput());
    }
    expect(out).toEqual([[1, 4], [2, 5], [3]]);
  });

  it.each([1, 3])('the partitioned source, checkpointed at parallelism 2, restores at %i and reads the rest exactly once', async (to) => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    // Subtask 0 had read 990 of partition 0 (partition 2 to come), subtask 1 all of partition 1 and 500 of 3.
    const positions = [
      [
        { partition: 0, offset: 990 },
        { partition: 2, offset: 0 },
      ],
      [{ partition: 3, offset: 500 }],
    ];
    await new FileCheckpointStorage(storage).store({
      version: 2,
      jobName: 'partitions',
      checkpointId: 1,
      timestamp: 0,
      final: false,
      operators: {},
      sources: { numbers: { name: 'numbers', parallelism: 2, positions } },
    });
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: to }).enableCheckpointing(60_000, { storage });
    const read: number[] = [];
    env
      .fromSource(partitioned, 'numbers')
      .uid('numbers')
      .addSink((n) => void read.push(n));
    await env.execute('partitions', { restoreFrom: 'latest' });
    const range = (from: number, until: number) => Array.from({ length: until - from }, (_, i) => from + i);
    expect(read.sort((a, b) => a - b)).toEqual([...range(990, 1000), ...range(2000, 3000), ...range(3500, 4000)]);
  });
});
