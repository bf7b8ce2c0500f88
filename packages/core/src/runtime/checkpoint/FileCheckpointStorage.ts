import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { OptionChecker } from '../../api/OptionChecker.js';
import type { CheckpointStorage, CompletedCheckpoint, StoredCheckpoint } from './CheckpointStorage.js';

const MAGIC = Buffer.from('TRBCKPT1');
const HEADER = MAGIC.length + 32;
const NAME = /^chk-(\d{10})\.ckpt$/;

const FILE_CHECKPOINT_STORAGE_OPTIONS = ['retain', 'onWarning'];

export interface FileCheckpointStorageOptions {
  /** How many completed checkpoints to keep (the newest). Default 3. */
  readonly retain?: number;
  /** Told when a damaged checkpoint is skipped. Default: `process.emitWarning`. */
  readonly onWarning?: (message: string) => void;
}

/**
 * Checkpoints as files in a local directory, one per checkpoint.
 *
 * A file is written to a temporary name, fsynced, renamed into place and the
 * directory fsynced, so a crash leaves either the whole checkpoint or none.
 * Each file starts with a SHA-256 of its payload: a torn or corrupted file is
 * skipped by `loadLatest` (with a warning) in favour of the previous one.
 * Values are encoded with `v8.serialize`, so state may hold Maps, Sets,
 * Dates, BigInts and typed arrays.
 */
export class FileCheckpointStorage implements CheckpointStorage {
  readonly directory: string;
  private readonly retain: number;
  private readonly warn: (message: string) => void;

  constructor(directory: string, options: FileCheckpointStorageOptions = {}) {
    const check = new OptionChecker('FileCheckpointStorage');
    this.directory = resolve(check.nonEmptyString('directory', directory));
    check.known(check.object(options), FILE_CHECKPOINT_STORAGE_OPTIONS);
    this.retain = check.optionalInteger('retain', options.retain, 3);
    this.warn = check.optionalFunc('onWarning', options.onWarning) ?? ((message) => process.emitWarning(message, 'TributaryCheckpointWarning'));
  }

  async store(checkpoint: CompletedCheckpoint): Promise<{ location: string; bytes: number }> {
    await mkdir(this.directory, { recursive: true });
    const payload = serialize(checkpoint);
    const digest = createHash('sha256').update(payload).digest();
    const location = join(this.directory, `chk-${String(checkpoint.checkpointId).padStart(10, '0')}.ckpt`);
    const temp = `${location}.tmp-${process.pid}`;
    const file = await open(temp, 'w');
    try {
      await file.writev([MAGIC, digest, payload]);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, location);
    await syncDirectory(this.directory);
    await this.prune();
    return { location, bytes: HEADER + payload.length };
  }

  async loadLatest(): Promise<StoredCheckpoint | undefined> {
    for (const name of (await this.list()).reverse()) {
      const location = join(this.directory, name);
      try {
        return await this.load(location);
      } catch (error) {
        this.warn(`Skipping checkpoint ${location}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return undefined;
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
    const checkpoint = deserialize(payload) as CompletedCheckpoint;
    if (checkpoint.version !== 1) throw new Error(`checkpoint ${location} has unknown format version ${String(checkpoint.version)}`);
    return { location, checkpoint };
  }

  private async list(): Promise<string[]> {
    try {
      return (await readdir(this.directory)).filter((n) => NAME.test(n)).sort();
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

/** Makes a rename durable: fsync the directory that holds it. */
async function syncDirectory(directory: string): Promise<void> {
  const dir = await open(directory, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
