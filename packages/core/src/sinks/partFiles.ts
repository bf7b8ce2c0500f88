import { join } from 'node:path';
import type { SinkWriterContext } from '../api/Sink.js';
import type { ExclusiveDirectory } from '../runtime/DirectoryLock.js';
import { fileOperation, fileSinkError, syncDirectory, type SinkFileSystem } from './fileSystem.js';
import { PartFile } from './PartFile.js';

/**
 * An exactly-once part file as a checkpoint holds it (plain data): written
 * hidden as `temp`, published by renaming it to `final`. `length`, when
 * present, is what the checkpoint covers of a file that stayed open after it
 * (a rolling part file): a restore cuts the file back to it first.
 */
export interface PartState {
  readonly temp: string;
  readonly final: string;
  readonly length?: number;
}

/**
 * The output directory, which a job locks for its run: a second job writing it would remove this one's hidden files
 * (exactly-once) or write files beside its own. All subtasks of the sink share it.
 */
export function outputDirectory(directory: string): ExclusiveDirectory {
  return { path: directory, writer: 'FileSink' };
}

/** The list-state keys of each guarantee's writers: `pending` is an earlier release's exactly-once writer's. */
const STATE_KEYS = { 'exactly-once': ['parts', 'pending'], 'at-least-once': ['files'] } as const;

/**
 * Fails a writer restored from a checkpoint that the sink took with the other guarantee: each reads only its own
 * keys, so the other's files would be left unpublished (records lost) or not cut back (records twice).
 */
export function refuseOtherGuarantee(ctx: SinkWriterContext, directory: string, guarantee: keyof typeof STATE_KEYS): void {
  const other = guarantee === 'exactly-once' ? 'at-least-once' : 'exactly-once';
  for (const state of [ctx.restoredListState, ctx.restoredUnionListState]) {
    if (state !== undefined && STATE_KEYS[other].some((key) => key in state)) {
      throw fileSinkError(
        `the checkpoint holds the sink at '${directory}' with guarantee '${other}', and it is restored with '${guarantee}': restore it with guarantee '${other}' (its files must be published or cut back as that one does), then change the guarantee in a fresh run`,
      );
    }
  }
}

/** A hidden part file; the group is the index of the subtask that wrote it. */
const IN_PROGRESS = /^\.part-(\d+)-.*\.inprogress$/;

/** The names of a subtask's next part file; `run` keeps names unique across restarts of the same job. */
export function partNames(directory: string, subtaskIndex: number, run: string, seq: number): PartState {
  const name = `part-${subtaskIndex}-${run}-${String(seq).padStart(6, '0')}.jsonl`;
  return { temp: join(directory, `.${name}.inprogress`), final: join(directory, name) };
}

/** Renames a part into place and makes the rename durable. Idempotent: a restore publishes again what may have been published. */
export async function publish(fs: SinkFileSystem, directory: string, part: PartState): Promise<void> {
  try {
    await fileOperation('publish', part.final, () => fs.rename(part.temp, part.final));
  } catch (error) {
    // Published before: the final file is there and the temp is gone.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !(await fs.exists(part.final))) throw error;
  }
  await fileOperation('fsync directory', directory, () => syncDirectory(fs, directory));
}

/**
 * Publishes a part a restored checkpoint holds: a part that stayed open after
 * the checkpoint is first cut back to what the checkpoint covers (the failed
 * run wrote on after it), unless it was published already.
 */
export async function publishRestored(fs: SinkFileSystem, directory: string, part: PartState): Promise<void> {
  if (part.length !== undefined && (await fs.exists(part.temp))) {
    const cut = PartFile.resume(fs, part.temp, part.length);
    try {
      await cut.sync();
    } finally {
      await cut.close();
    }
  }
  await publish(fs, directory, part);
}

/**
 * Removes the hidden part files an earlier run of this subtask left, except
 * those in `keep` (every part the restored checkpoint holds, of any subtask:
 * another subtask may be publishing it right now). Restored at a lower
 * parallelism, old subtask `k`'s leftovers are subtask `k % parallelism`'s.
 */
export async function removeLeftovers(fs: SinkFileSystem, directory: string, ctx: SinkWriterContext, keep: readonly PartState[]): Promise<void> {
  const kept = new Set(keep.map((part) => part.temp));
  const names = await fileOperation('list', directory, () => fs.readdir(directory));
  for (const name of names) {
    const path = join(directory, name);
    const writer = IN_PROGRESS.exec(name)?.[1];
    if (writer !== undefined && Number(writer) % ctx.parallelism === ctx.subtaskIndex && !kept.has(path)) {
      await fileOperation('remove', path, () => fs.rm(path));
    }
  }
}
