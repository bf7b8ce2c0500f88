// TEMPORARY (H1): a stand-in with the contract's interface for edges that stay in one slot, until
// H2's SlotTransport (branch i21-transport) is merged; the merge takes H2's file.
import type { MessagePort } from 'node:worker_threads';
import type { CheckpointBarrier } from '../checkpoint/CheckpointBarrier.js';
import type { InputChannel } from '../InputChannel.js';
import type { ResultPartition } from '../ResultPartition.js';

export class SlotTransport {
  private readonly channels: InputChannel<unknown>[] = [];

  constructor(readonly options: { readonly slot: number; readonly ports: ReadonlyMap<number, MessagePort>; readonly capacity: number }) {}

  accept(_vertex: string, _subtask: number, channel: InputChannel<unknown>): void {
    this.channels.push(channel);
  }

  partition(_vertex: string, queue: number, consumers: readonly (InputChannel<unknown> | undefined)[], edge: string): ResultPartition<unknown> {
    const local = consumers[this.options.slot];
    const only = (target: number): InputChannel<unknown> => {
      if (target !== this.options.slot || local === undefined) throw new Error(`records from ${edge} cannot cross slots yet`);
      return local;
    };
    return {
      subpartitions: consumers.length,
      emit: (target, chunk) => only(target).push(queue, chunk),
      writable: (target) => only(target).writable(queue),
      broadcastBarrier: (barrier: CheckpointBarrier) => local?.pushBarrier(queue, barrier),
      finish: () => local?.endOfInput(queue),
    };
  }

  close(): void {
    for (const port of this.options.ports.values()) port.close();
  }
}
