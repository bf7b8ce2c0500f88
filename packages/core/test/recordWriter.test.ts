import { describe, expect, it } from 'vitest';
import { CheckpointBarrier } from '../src/runtime/checkpoint/CheckpointBarrier.js';
import { InputChannel } from '../src/runtime/InputChannel.js';
import { RecordWriter } from '../src/runtime/RecordWriter.js';
import { LocalResultPartition } from '../src/runtime/ResultPartition.js';

describe('RecordWriter', () => {
  it('refuses a barrier after the end of its output: no alignment would take it but the next, which it would release early', () => {
    const channel = new InputChannel<number>(1, 4);
    const writer = new RecordWriter(new LocalResultPartition([channel], 0), { kind: 'forward' }, 0, 8, { backpressure: () => undefined });
    writer.collect(1);
    writer.broadcastBarrier(new CheckpointBarrier(1));
    writer.end();
    expect(() => writer.broadcastBarrier(new CheckpointBarrier(2))).toThrow('checkpoint 2: a barrier after the end of this task');
  });
});
