import { chmodSync, closeSync, fstatSync, openSync, readFileSync, realpathSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { brandClass } from '../api/brandClass.js';
import type { AbandonedWork } from './awaitClose.js';
import { SystemClock } from './Clock.js';
import { InvalidJobError, messageOf } from './errors.js';
import { makeDirectorySync } from './makeDirectory.js';
import { osThreadId, osThreadIsGone, processStartedAt, writerIsGone } from './processes.js';

/** The lock file a running job keeps in each directory it writes by itself. */
export const LOCK_FILE = '.tributary.lock';

/**
 * A directory a part of a job (a `FileSink`, a `FileCheckpointStorage`)
 * writes by itself: two jobs writing it at once would remove or overwrite
 * each other's files. The runtime locks it for the job's run; a sink or a
 * checkpoint storage says so with an `exclusiveDirectory()` method.
 */
export interface ExclusiveDirectory {
  readonly path: string;
  /** How messages name what writes it (`FileSink`); default: the class name of the sink or storage. */
  readonly writer?: string;
  /** The mode the directory gets when the lock creates it (it and its missing parents); default: as `mkdir` makes it. */
  readonly mode?: number;
}

/** A part of a job that writes `directory` by itself, with how messages name it (`FileSink of operator 'Sink'`). */
export interface DirectoryWriter {
  readonly part: string;
  /** What writes it (`FileSink`, `FileCheckpointStorage`): two of a kind name and remove files the same way, so they may not share a directory. */
  readonly kind: string;
  readonly directory: ExclusiveDirectory;
}

/** What a lock file holds: who locked the directory. */
interface Holder {
  readonly pid: number;
  /** The worker thread of the process (0: the main thread). */
  readonly thread: number;
  /** The thread's id in the operating system, where it can be read (Linux): a worker thread that was terminated is told by it. */
  readonly tid?: number | undefined;
  /** When the process started (ms since the epoch): an earlier process with this pid has another. */
  readonly processStart: number;
  readonly job: string;
  readonly jobId: string;
  /** When the job locked the directory (ISO 8601). */
  readonly since: string;
}

/** A lock file that names no process (yet), and how long ago it was last written. */
interface Unwritten {
  readonly unwrittenForMs: number;
}

/** What was read from a lock file: whom it names, and which file it was (its inode and modification time). */
interface LockFileRead {
  readonly holder: Holder | Unwritten;
  readonly file: string;
}

/** `execute()` rejects with this, before the job reads or writes anything, when a directory it writes by itself is another job's. */
export class DirectoryInUseError extends Error {
  static {
    brandClass(this, 'DirectoryInUseError');
  }

  override readonly name = 'DirectoryInUseError';
  constructor(
    message: string,
    /** The directory. */
    readonly directory: string,
    /** The process of the job that holds it (this process's pid when a job of this process does); undefined when unknown. */
    readonly pid: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Directories locked by the jobs of this thread, by path: a lock file naming this process cannot tell a job of this
 * process from an earlier process that had its pid. Shared by every copy of this package in the thread.
 */
const locked: Map<string, LockEntry> = ((globalThis as Record<symbol, unknown>)[Symbol.for('tributary.directoryLocks')] ??= new Map()) as Map<string, LockEntry>;

interface LockEntry {
  readonly jobId: string;
  readonly job: string;
  /** Set once the job ended with work it abandoned still pending (a close, a checkpoint store): what that work is. */
  lingering?: string;
}

/** A job's locks on the directories it writes by itself. */
export interface DirectoryLocks {
  /**
   * Locks the directories not locked yet: one that could take no lock file when the job started (a full disk) is
   * tried again before each restart. Throws a {@link DirectoryInUseError} when another job holds one meanwhile.
   */
  lockMissing(): void;
  /**
   * Releases every lock: at once, or, when the job abandoned work that may still write there, once that settles
   * (meanwhile a job that finds a directory held is told what it waits for).
   */
  release(abandoned?: readonly AbandonedWork[]): void;
}

/** Real time, not the job's clock: lock files are read by other processes. */
const wallClock = new SystemClock();
/** This process's start, the same in all its threads (to the clock's resolution). */
const PROCESS_START = Math.round(wallClock.now() - process.uptime() * 1000);
/** How far two threads' readings of {@link PROCESS_START} may differ. */
const SAME_START_MS = 1_000;
/** A live process with the holder's pid that started this much later than the holder is another process (the pid was reused). */
const REUSED_PID_MS = 5_000;
/** A lock file still naming no process this long after it was created was left by a process killed while writing it. */
const UNWRITTEN_STALE_MS = 10_000;
/** Takeovers of a stale lock file that other processes raced before giving up. */
const TAKEOVER_TRIES = 3;
/** Claims on taking over one stale lock file passed over (their claimants gone) before giving up. */
const MOST_CLAIMS = 16;

/**
 * Locks each directory for the job `jobId` (in path order). Synchronous, so
 * that the job starts as soon as it did without locks and `execute()` fails
 * before the job reads or writes anything. A directory another job holds (a
 * live other process, or a job of this process) fails the start with a
 * {@link DirectoryInUseError} naming the part, the directory and the holder; a
 * lock file left by a process that is gone (killed, or an earlier process with
 * this pid) is taken over. Two parts of the job of one kind on one directory
 * (two `FileSink`s) fail it with an `InvalidJobError`: each would remove the
 * other's files. A directory that cannot be created or take a file is not
 * locked yet: the part fails there itself, and a restart tries again.
 */
export function lockDirectories(writers: readonly DirectoryWriter[], job: { readonly jobName: string; readonly jobId: string }): DirectoryLocks {
  const byPath = new Map<string, DirectoryWriter>();
  for (const writer of writers) {
    // Symlinks resolved: two spellings of one directory are one directory.
    const path = canonicalPath(writer.directory.path);
    const other = byPath.get(path);
    if (other?.kind === writer.kind) {
      throw new InvalidJobError(
        `Job '${job.jobName}': ${other.part} and ${writer.part} both write '${path}', and each would remove the other's files; give each its own directory`,
      );
    }
    if (other === undefined) byPath.set(path, writer);
  }
  const paths = [...byPath].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const held = new Map<string, DirectoryLock>();
  const releaseNow = (): void => {
    for (const lock of [...held.values()].reverse()) lock.release();
    held.clear();
  };
  const lockMissing = (): void => {
    for (const [path, writer] of paths) {
      if (held.has(path)) continue;
      const lock = DirectoryLock.acquire(path, writer, job);
      if (lock !== undefined) held.set(path, lock);
    }
  };
  try {
    lockMissing();
  } catch (error) {
    // The job does not start: it holds nothing.
    releaseNow();
    throw error;
  }
  return {
    lockMissing,
    release: (abandoned = []) => {
      if (abandoned.length === 0) return releaseNow();
      const what = abandoned.map((work) => work.what).join(', ');
      for (const lock of held.values()) lock.linger(what);
      void Promise.allSettled(abandoned.map((work) => work.settled)).then(releaseNow);
    },
  };
}

/** `path` absolute, with the symlinks of its existing part resolved (the rest does not exist yet). */
function canonicalPath(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(canonicalPath(parent), basename(absolute));
  }
}

/** One job's lock on one directory: an entry in {@link locked} and a lock file naming the job's process. */
class DirectoryLock {
  private constructor(
    private readonly path: string,
    private readonly holder: Holder,
  ) {}

  static acquire(path: string, writer: DirectoryWriter, job: { readonly jobName: string; readonly jobId: string }): DirectoryLock | undefined {
    const lockFile = join(path, LOCK_FILE);
    const inUse = (by: string, pid: number | undefined): DirectoryInUseError =>
      new DirectoryInUseError(
        `Job '${job.jobName}' cannot start: ${writer.part} writes '${path}', which ${by}. ` +
          'One job at a time per directory: stop the other run, or give this job another directory.',
        path,
        pid,
      );
    const other = locked.get(path);
    if (other !== undefined) {
      const doing = other.lingering === undefined ? 'is writing' : `ended, but its abandoned ${other.lingering} has not settled and may still write there`;
      throw inUse(`job '${other.job}' (${other.jobId}) in this process ${doing}`, process.pid);
    }
    if (!createDirectory(path, writer.directory.mode)) return undefined;
    const holder: Holder = { pid: process.pid, thread: threadId, tid: osThreadId(), processStart: PROCESS_START, job: job.jobName, jobId: job.jobId, since: timestamp(wallClock.now()) };
    for (let tries = 0; ; tries++) {
      const created = createLockFile(lockFile, holder);
      if (created === 'unwritable') return undefined;
      if (created === 'created') {
        locked.set(path, { jobId: job.jobId, job: job.jobName });
        return new DirectoryLock(path, holder);
      }
      const read = readLockFile(lockFile);
      // Released meanwhile: try again.
      if (read === 'absent') continue;
      const found = read.holder;
      if (!isGone(found)) {
        if (!('pid' in found)) throw inUse(`another process is locking (its lock file '${lockFile}' names no process yet)`, undefined);
        throw inUse(
          `job '${found.job}' (${found.jobId}) in ${holderPlace(found)} has been writing since ${found.since} (lock file '${lockFile}'; if no such job runs, delete it)`,
          found.pid,
        );
      }
      if (tries >= TAKEOVER_TRIES) throw inUse(`other processes keep locking (lock file '${lockFile}')`, undefined);
      const takeover = removeStaleLockFile(lockFile, read.file, holder);
      if (takeover === 'unwritable') return undefined;
      if (takeover === 'claims exhausted') {
        throw inUse(`${MOST_CLAIMS} takeovers of its stale lock file '${lockFile}' were cut short; if no job runs there, delete it and its '.takeover-' claims`, undefined);
      }
      if (typeof takeover === 'object') {
        const { claim, claimant } = takeover;
        if (!('pid' in claimant)) throw inUse(`another process is taking over its stale lock file '${lockFile}' (its claim '${claim}' names no process yet)`, undefined);
        throw inUse(`job '${claimant.job}' (${claimant.jobId}) in ${holderPlace(claimant)} is taking over its stale lock file '${lockFile}' (claim '${claim}')`, claimant.pid);
      }
    }
  }

  /** The job ended with abandoned work pending: jobs of this process that find the directory held are told so. */
  linger(what: string): void {
    const entry = locked.get(this.path);
    if (entry?.jobId === this.holder.jobId) entry.lingering = what;
  }

  /** Removes the lock file if it is still this lock's, and the entry. A failure leaves a file the next run takes over. */
  release(): void {
    const lockFile = join(this.path, LOCK_FILE);
    try {
      const read = readLockFile(lockFile);
      const found = read === 'absent' ? undefined : read.holder;
      if (found !== undefined && 'pid' in found && found.jobId === this.holder.jobId && found.pid === this.holder.pid) rmSync(lockFile, { force: true });
    } catch {
      // The run that finds it takes it over: it names a job that is not running.
    } finally {
      if (locked.get(this.path)?.jobId === this.holder.jobId) locked.delete(this.path);
    }
  }
}

/**
 * Creates the directory and its missing parents, with `mode` when given (exactly: not through the umask); false when
 * that fails, which the part reports itself, naming its own operation.
 */
function createDirectory(path: string, mode: number | undefined): boolean {
  try {
    if (makeDirectorySync(path, mode) !== undefined && mode !== undefined) chmodSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** Creates the lock file naming `holder`, unless it exists; 'unwritable' when the directory takes no file. */
function createLockFile(lockFile: string, holder: Holder): 'created' | 'exists' | 'unwritable' {
  let fd: number;
  try {
    fd = openSync(lockFile, 'wx');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EEXIST' ? 'exists' : 'unwritable';
  }
  try {
    const text = Buffer.from(JSON.stringify(holder));
    for (let offset = 0; offset < text.length; ) {
      const written = writeSync(fd, text, offset);
      if (written === 0) throw new Error('the disk took no byte');
      offset += written;
    }
    return 'created';
  } catch {
    // A full disk: the part fails there itself; leave no lock file that names no one.
    rmSync(lockFile, { force: true });
    return 'unwritable';
  } finally {
    closeSync(fd);
  }
}

/**
 * The holder a lock file names, or how old it is when it names none (yet), and which file that is (read through one
 * descriptor, so both are of one file); 'absent' when it is gone.
 */
function readLockFile(lockFile: string): LockFileRead | 'absent' {
  let text: string;
  let file: string;
  let modified: number;
  try {
    const fd = openSync(lockFile, 'r');
    try {
      const stats = fstatSync(fd, { bigint: true });
      file = fileStamp(stats);
      modified = Number(stats.mtimeMs);
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new Error(`could not read the lock file '${lockFile}': ${messageOf(error)}`, { cause: error });
  }
  try {
    const holder = JSON.parse(text) as Partial<Holder> | null;
    // A pid of 0 or below would name a process group to process.kill(), always "alive": such a file names no one.
    if (Number.isInteger(holder?.pid) && (holder?.pid as number) > 0 && typeof holder?.jobId === 'string') return { holder: holder as Holder, file };
  } catch {
    // Created, not written yet (or cut short by a kill): judged by its age.
  }
  // A time ahead of now (a clock set wrong) is as far from now as one behind: a live writer's file is seconds old.
  return { holder: { unwrittenForMs: Math.abs(wallClock.now() - modified) }, file };
}

/** Which file this is: its inode and its modification time in ns (a file made in place of a removed one may get its inode). */
function fileStamp(stats: { readonly ino: bigint; readonly mtimeNs: bigint }): string {
  return `${stats.ino}-${stats.mtimeNs}`;
}

/**
 * Removes the lock file judged stale, `stale` (its {@link fileStamp}), unless another file has taken its place.
 * Processes that judged one file stale at once would otherwise each remove "it", the later ones removing the lock
 * the first had just made, and each would then hold the directory (2 or 3 of 6 processes started together did, in
 * 12 rounds of 30). So a taker first makes a claim file naming itself, as a lock file does, which only one process
 * can make, and removes the lock file only while it is still that file; it then removes its claim. Another taker
 * meanwhile finds the claim and is refused while its claimant lives, however long that one pauses. Claims are
 * numbered: one whose claimant is gone (killed during its takeover) is passed over for the next number, never
 * removed, since a taker that judged it and then removed "it" could remove a live claim made in its place.
 * Returns the claim and its claimant when another lives; 'unwritable' when the directory takes no claim.
 */
export function removeStaleLockFile(
  lockFile: string,
  stale: string,
  taker: Holder,
): 'removed' | 'replaced' | 'unwritable' | 'claims exhausted' | { readonly claim: string; readonly claimant: Holder | Unwritten } {
  for (let number = 0; number < MOST_CLAIMS; number++) {
    const claim = takeoverClaim(lockFile, stale, number);
    const created = createLockFile(claim, taker);
    if (created === 'unwritable') return 'unwritable';
    if (created === 'exists') {
      const read = readLockFile(claim);
      // Its taker finished and removed it: the stale file is gone or replaced, and the caller looks again.
      if (read === 'absent') return 'replaced';
      if (!isGone(read.holder)) return { claim, claimant: read.holder };
      continue;
    }
    try {
      // Only the one live claimant removes this file: while it is here, no one else makes another in its place.
      if (lockFileStamp(lockFile) !== stale) return 'replaced';
      rmSync(lockFile, { force: true });
      return 'removed';
    } finally {
      rmSync(claim, { force: true });
    }
  }
  return 'claims exhausted';
}

/** Claim `number` on taking over the lock file `lockFile` while it is the file `stale` (see removeStaleLockFile). */
export function takeoverClaim(lockFile: string, stale: string, number: number): string {
  return `${lockFile}.takeover-${stale}-${number}`;
}

/** The {@link fileStamp} of the file at `path`; undefined when there is none. */
export function lockFileStamp(path: string): string | undefined {
  try {
    return fileStamp(statSync(path, { bigint: true }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Where the holder of a lock (or a claim) runs, for messages: `process 123`, `this process`, `another thread of this process (pid 123)`. */
function holderPlace(holder: Holder): string {
  if (holder.pid !== process.pid) return `process ${holder.pid}`;
  return holder.thread === threadId ? 'this process' : `another thread of this process (pid ${holder.pid})`;
}

/**
 * Whether the holder a lock file names is gone, so that the file may be taken over: its process no longer exists
 * (as for temporary checkpoint files), or it is an earlier process that had this pid, or a thread of this process
 * that has ended (Linux). A lock of a running job of this thread, or of another live thread of this process, is not
 * gone. A file that names no process is gone once it is old enough that its writer must have been killed before
 * writing it.
 */
function isGone(found: Holder | Unwritten): boolean {
  if (!('pid' in found)) return found.unwrittenForMs > UNWRITTEN_STALE_MS;
  if (!writerIsGone(found.pid)) {
    // Alive, but perhaps another process with its pid (after a reboot): one that started after the holder did.
    const started = processStartedAt(found.pid);
    return started !== undefined && typeof found.processStart === 'number' && started - found.processStart > REUSED_PID_MS;
  }
  if (found.pid !== process.pid) return true;
  if (found.thread === threadId) return ![...locked.values()].some((l) => l.jobId === found.jobId);
  if (Math.abs(found.processStart - PROCESS_START) > SAME_START_MS) return true;
  // Another thread of this process: gone once its OS thread is (a worker terminated while its job ran).
  return typeof found.tid === 'number' && osThreadIsGone(found.tid);
}

/** A time for people to read (in a lock file, in an error): ISO 8601. */
function timestamp(ms: number): string {
  // eslint-disable-next-line no-restricted-globals -- formats a time read from the clock, reads none
  return new Date(ms).toISOString();
}
