/** The job module this thread's slot last imported, once it imported one: the thread is a slot's, and starts no job. */
let slotModule: string | undefined;

/** Imports the job module for a slot; from then on {@link refuseJobStartInSlot} refuses every job start in this thread. */
export async function importJobModule(module: string): Promise<void> {
  slotModule = module;
  await import(module);
}

/** A job started in a slot's thread (see {@link refuseJobStartInSlot}). */
export class JobStartedInSlotError extends Error {}

/**
 * A module that runs its own job when imported (at its top level, or in a function it calls there, after an `await`
 * too) would, in each slot that imports it, start the job again, and each of those its slots: threads without end, and
 * the output written many times. Jobs are started by the main thread only, so a start in a slot's thread fails, and
 * the slot with it, saying why.
 */
export function refuseJobStartInSlot(jobName: string): void {
  if (slotModule === undefined) return;
  throw new JobStartedInSlotError(
    `Job '${jobName}' was started in a task slot's thread, which imported the job module ${slotModule}: the module starts a job when it is imported. ` +
      'Start jobs from an entry module of their own (main.ts), which imports the job module, not from the job module itself',
  );
}
