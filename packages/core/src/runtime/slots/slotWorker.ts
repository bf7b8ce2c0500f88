// The entry of a slot's worker thread (see SlotHost): runs the slot each `run` message describes, one at a time; between
// jobs the thread waits in the pool (slotWorkers.ts) for the next.
import { parentPort } from 'node:worker_threads';
import type { ToSlot } from './hostMessages.js';
import { Slot } from './Slot.js';
import { markSlotThread } from './slotThread.js';

markSlotThread();

const port = parentPort;
port?.on('message', (message: ToSlot) => {
  if (message.kind === 'run') void new Slot(message.data, port).start();
});
