import { createHash } from 'node:crypto';
import { chmod, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { serialize } from 'node:v8';
import { OptionChecker } from '../../api/OptionChecker.js';
import { messageOf } from '../errors.js';
import { makeDirectory } from '../makeDirectory.js';
import type { ExclusiveDirectory } from '../DirectoryLock.js';
import { writerIsGone } from '../processes.js';
import type { CheckpointStorage, CompletedCheckpoint, StoredCheckpoint } from './CheckpointStorage.js';
import { deserializeValue } from './deserializeValue.js';

const MAGIC = Buffer.from('TRBCKPT1');
const HEADER = MAGIC.length + 32;
const NAME = /^chk-(\d{10})\.ckpt$/;
/** A checkpoint being written: `chk-<id>.ckpt.tmp-<pid of the writer>`. */
const TEMP = /^chk-\d{10}\.ckpt\.tmp-(\d+)$/;
/**
 * The temporary files this thread is writing. Another storage on the same directory in this process (a
 * `loadLatest()` while a job stores) must not take them for the leftovers of an earlier process with this pid.
 */
const writing = new Set<string>();
/** Damaged checkpoints an error lists by name before it only counts the rest. */
const LISTED_PROBLEMS = 5;

export interface FileCheckpointStorageOptions {
  /** How many completed checkpoints to keep (the newest). Default 3. */
  readonly retain?: number;
  /** Told when a damaged checkpoint is skipped. Default: `process.emitWarning`. */
  readonly onWarning?: (message: string) => void;
  /** Permissions of checkpoint files. Default `0o600`: they hold user records. Must include `0o600`. */
  readonly fileMode?: number;
  /** Permissions of the directory when the storage creates it. Default `0o700`. Must include `0o700`. */
  readonly directoryMode?: number;
}

const KNOWN_OPTIONS = new Set(['retain', 'onWarning', 'fileMode', 'directoryMode']);

/**
 * Checkpoints as files in a local directory, one per checkpoint.
 *
 * A file is written whole to a temporary name, fsynced, renamed into place and
 * the directory fsynced, so a crash or a full disk leaves either the whole
 * checkpoint or none. Each file starts with a SHA-256 of its payload, checked
 * on every load: a torn or corrupted file is never restored.
 * Values are encoded with `v8.serialize`, so state may hold Maps, Sets,
 * Dates, BigInts and typed arrays.
 *
 * Files are created `0o600` and a directory the storage creates `0o700`
 * (checkpoints hold user records). One job at a time per directory: a job
 * locks it for its run (a second job using it fails to start), ids continue
 * after the highest one found there, and temporary files whose writer process
 * is gone are removed when the storage is first used.
 */
export class FileCheckpointStorage implements CheckpointStorage {
  readonly directory: string;
  private readonly retain: number;
  private readonly warn: (message: string) => void;
  private readonly fileMode: number;
  private readonly directoryMode: number;
  private opened: Promise<void> | undefined;

  constructor(directory: string, options: FileCheckpointStorageOptions = {}) {
    const check = new OptionChecker('FileCheckpointStorage');
    check.known(check.object(options), KNOWN_OPTIONS);
    this.directory = resolve(check.nonEmptyString('directory', directory));
    this.retain = check.optionalInteger('retain', options.retain, 3);
    this.warn = check.optionalFunc('onWarning', options.onWarning) ?? ((message) => process.emitWarning(message, 'TributaryCheckpointWarning'));
    this.fileMode = permissions(check, 'fileMode', options.fileMode, 0o600);
    this.directoryMode = permissions(check, 'directoryMode', options.directoryMode, 0o700);
  }

  async store(checkpoint: CompletedCheckpoint): Promise<{ location: string; bytes: number }> {
    await this.open();
    if ((await makeDirectory(this.directory, this.directoryMode)) !== undefined) {
      // mkdir's mode passes through the umask; the directory gets exactly what was asked.
      await chmod(this.directory, this.directoryMode);
    }
    const payload = serializeCheckpoint(checkpoint);
    const digest = createHash('sha256').update(payload).digest();
    const location = join(this.directory, `chk-${String(checkpoint.checkpointId).padStart(10, '0')}.ckpt`);
    const temp = `${location}.tmp-${process.pid}`;
    writing.add(temp);
    try {
      await writeDurably(temp, [MAGIC, digest, payload], this.fileMode).catch(async (error: unknown) => {
        // A torn temp file is never published; removing it frees the space it took. If even that
        // fails, the next start removes it.
        await rm(temp, { force: true }).catch(() => undefined);
        throw new Error(`writing ${temp} failed: ${messageOf(error)}`, { cause: error });
      });
      await rename(temp, location);
    } finally {
      writing.delete(temp);
    }
    await syncDirectory(this.directory);
    await this.prune();
    return { location, bytes: HEADER + payload.length };
  }

  /** The directory, which a job locks for its run: one job at a time per directory. */
  exclusiveDirectory(): ExclusiveDirectory {
    return { path: this.directory, writer: 'FileCheckpointStorage', mode: this.directoryMode };
  }

  async highestCheckpointId(): Promise<number> {
    await this.open();
    const last = (await this.list()).at(-1);
    return last === undefined ? 0 : Number(NAME.exec(last)?.[1]);
  }

  /**
   * The newest checkpoint that reads back intact; damaged newer ones are
   * skipped with a warning. Undefined when the directory holds no checkpoint;
   * rejects, saying what is wrong with each, when it holds only damaged ones.
   */
  async loadLatest(): Promise<StoredCheckpoint | undefined> {
    await this.open();
    const names = (await this.list()).reverse();
    const problems: string[] = [];
    for (const name of names) {
      try {
        const stored = await this.load(join(this.directory, name));
        for (const problem of problems) this.warn(`Skipping damaged checkpoint: ${problem}`);
        return stored;
      } catch (error) {
        problems.push(messageOf(error));
      }
    }
    if (problems.length === 0) return undefined;
    const listed = problems.slice(0, LISTED_PROBLEMS).join('; ');
    const more = problems.length > LISTED_PROBLEMS ? `; and ${problems.length - LISTED_PROBLEMS} more` : '';
    throw new Error(`none of the ${problems.length} checkpoints in ${this.directory} is intact: ${listed}${more}`);
  }

  async load(location: string): Promise<StoredCheckpoint> {
    let bytes: Buffer;
    try {
      bytes = await readFile(location);
    } catch (error) {
      throw new Error(`checkpoint ${location} cannot be read: ${(error as Error).message}`, { cause: error });
    }
    if (bytes.length < HEADER || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new Error(`checkpoint ${location} is not a Tributary checkpoint or is truncated`);
    }
    const payload = bytes.subarray(HEADER);
    if (!createHash('sha256').update(payload).digest().equals(bytes.subarray(MAGIC.length, HEADER))) {
      throw new Error(`checkpoint ${location} is corrupted (checksum mismatch)`);
    }
    let checkpoint: CompletedCheckpoint;
    try {
      checkpoint = deserializeValue(payload) as CompletedCheckpoint;
    } catch (error) {
      throw new Error(`checkpoint ${location} cannot be decoded: ${messageOf(error)}`, { cause: error });
    }
    // A version 1 checkpoint is a version 2 one without list state. A newer one may hold state this code would drop.
    const version: unknown = (checkpoint as Partial<CompletedCheckpoint> | null)?.version;
    if (version !== 1 && version !== 2) throw new Error(`checkpoint ${location} has unknown format version ${String(version)}`);
    // A checksum only proves the file is what its writer wrote: a writer of another program may have written it.
    if (!isRecord(checkpoint.operators) || !isRecord(checkpoint.sources) || !Object.values(checkpoint.sources).every((s) => isRecord(s) && Array.isArray(s.positions))) {
      throw new Error(`checkpoint ${location} is not a Tributary checkpoint: it lacks its operators or its sources' positions`);
    }
    return { location, checkpoint };
  }

  /** Once per storage, before its first use: removes what interrupted writes left behind. */
  private open(): Promise<void> {
    this.opened ??= this.removeStaleTemps().catch((error: unknown) => {
      this.opened = undefined;
      throw error;
    });
    return this.opened;
  }

  /**
   * Removes temporary files of writers that are gone: a killed process, or an
   * earlier life of this one (its pid reused), but not a file this thread is
   * writing now. A live other process's file is left alone, though it cannot
   * share the directory safely anyway.
   */
  private async removeStaleTemps(): Promise<void> {
    for (const name of await this.entries()) {
      const pid = TEMP.exec(name)?.[1];
      const path = join(this.directory, name);
      if (pid !== undefined && writerIsGone(Number(pid)) && !writing.has(path)) await rm(path, { force: true });
    }
  }

  private async list(): Promise<string[]> {
    return (await this.entries()).filter((n) => NAME.test(n)).sort();
  }

  private async entries(): Promise<string[]> {
    try {
      return await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private async prune(): Promise<void> {
    const names = await this.list();
    for (const name of names.slice(0, Math.max(0, names.length - this.retain))) {
      await rm(join(this.directory, name), { force: true });
    }
  }
}

/** A permission mode (`0o600`) that keeps at least `required` for the owner, or `required` when absent. */
function permissions(check: OptionChecker, name: string, value: unknown, required: number): number {
  const mode = check.optionalInteger(name, value, required, 0);
  if (mode > 0o777 || (mode & required) !== required) {
    check.fail(`option '${name}' must be a permission mode within 0o777 that includes 0o${required.toString(8)}, got 0o${mode.toString(8)}`);
  }
  return mode;
}

/** Writes every byte (a write may take fewer than asked: a full disk), then fsyncs. */
async function writeDurably(path: string, chunks: readonly Buffer[], mode: number): Promise<void> {
  const file = await open(path, 'w', mode);
  try {
    // open's mode passes through the umask and leaves an existing file's mode as it was.
    await file.chmod(mode);
    for (const chunk of chunks) await writeFully(file, chunk);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function writeFully(file: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length; ) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset);
    if (bytesWritten === 0) throw new Error(`the disk took 0 of the ${chunk.length - offset} bytes left to write`);
    offset += bytesWritten;
  }
}

/** Makes a rename durable: fsync the directory that holds it. */
async function syncDirectory(directory: string): Promise<void> {
  const dir = await open(directory, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** `v8.serialize`; a value it cannot write (a SharedArrayBuffer) fails naming the operator or source that holds it. */
function serializeCheckpoint(checkpoint: CompletedCheckpoint): Buffer {
  try {
    return serialize(checkpoint);
  } catch (error) {
    const holders = [...Object.values(checkpoint.operators).map((o) => ['operator', o] as const), ...Object.values(checkpoint.sources).map((s) => ['source', s] as const)];
    for (const [kind, holder] of holders) {
      try {
        serialize(holder);
      } catch {
        throw new Error(`${kind} '${holder.name}' holds a value a checkpoint file cannot store: ${messageOf(error)}`, { cause: error });
      }
    }
    throw error;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
