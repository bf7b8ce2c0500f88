import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { makeDirectory } from '../runtime/makeDirectory.js';
import { messageOf } from '../runtime/errors.js';

/** An open file as the file sinks use it: Node's `FileHandle` is one. */
export interface SinkFileHandle {
  /** One write at `position`; it may write fewer bytes than asked (a nearly full disk). */
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  /** One read at `position`; fewer bytes than asked at the end of the file. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file operations of the file sinks. Production uses `node:fs/promises`;
 * tests put a stand-in here to inject what a real disk rarely produces on
 * demand (short writes, EACCES, EMFILE, a failing fsync or rename).
 */
export interface SinkFileSystem {
  open(path: string, flags: 'wx' | 'r+' | 'r'): Promise<SinkFileHandle>;
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  rm(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}

export const nodeFileSystem: SinkFileSystem = {
  open: (path, flags) => open(path, flags),
  mkdir: async (path) => {
    await makeDirectory(path);
  },
  readdir: (path) => readdir(path),
  rename: (from, to) => rename(from, to),
  rm: (path) => rm(path, { force: true }),
  exists: async (path) => {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  },
};

/** Makes the entries of `directory` (a file created or renamed in it) survive a crash. */
export async function syncDirectory(fs: SinkFileSystem, directory: string): Promise<void> {
  const handle = await fs.open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Runs one file operation of a file sink; a failure becomes an error naming
 * the sink, the operation and the path, keeping the errno `code` and the cause.
 */
export async function fileOperation<T>(action: string, path: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw fileSinkError(`could not ${action} '${path}': ${messageOf(error)}`, error);
  }
}

/** An error of a file sink: the job's failure names the sink's operator, this names the file. */
export function fileSinkError(message: string, cause?: unknown): Error {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return Object.assign(new Error(`FileSink: ${message}`, { cause }), code === undefined ? {} : { code });
}
