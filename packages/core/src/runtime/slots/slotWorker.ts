// The entry of a slot's worker thread (see SlotHost): builds the slot from its workerData and runs it.
import { parentPort, workerData } from 'node:worker_threads';
import type { SlotWorkerData } from './hostMessages.js';
import { Slot } from './Slot.js';

if (parentPort !== null) await new Slot(workerData as SlotWorkerData, parentPort).start();
