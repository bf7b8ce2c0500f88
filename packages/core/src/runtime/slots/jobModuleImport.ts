/** Set while this thread's slot imports the job module: a job started then is the module starting itself again. */
let importing: string | undefined;

/** Imports the job module for a slot, with {@link refuseJobStartDuringImport} armed meanwhile. */
export async function importJobModule(module: string): Promise<void> {
  importing = module;
  try {
    await import(module);
  } finally {
    importing = undefined;
  }
}

/** A job started by the top level of the job module a slot imports (see {@link refuseJobStartDuringImport}). */
export class JobStartedDuringImportError extends Error {}

/**
 * A module that runs its own job at the top level would, in each slot that imports it, start the job again, and
 * each of those its slots: threads without end. The start fails instead, and the slot with it, saying why.
 */
export function refuseJobStartDuringImport(jobName: string): void {
  if (importing === undefined) return;
  throw new JobStartedDuringImportError(
    `Job '${jobName}' was started while a slot imported the job module ${importing}: the module starts a job at its top level. ` +
      'Start jobs from an entry module of their own (main.ts), which imports the job module, not from the job module itself',
  );
}
