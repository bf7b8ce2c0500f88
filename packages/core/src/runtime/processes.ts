import { readFileSync, readlinkSync, statSync } from 'node:fs';

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process that left a file naming `pid` is gone: it no longer
 * exists, or the pid is this process's, which never left it in this life (an
 * earlier process had the pid, and it was reused). Callers that hold files of
 * their own under this pid tell those apart first.
 */
export function writerIsGone(pid: number): boolean {
  return pid === process.pid || !isAlive(pid);
}

/** Linux's clock ticks per second for /proc times (USER_HZ: 100 on every architecture Node runs on). */
const USER_HZ = 100;

/**
 * When the live process `pid` started (ms since the epoch, to about a
 * second), from /proc; undefined where /proc does not tell (not Linux, or the
 * process is gone). A lock file can then tell its holder from a later process
 * that got its pid: after a reboot, pids start over.
 */
export function processStartedAt(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime, in ticks after boot); the name (field 2) may hold spaces and parentheses, so count after its last ')'.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(bootSeconds)) return undefined;
    return bootSeconds * 1000 + (ticks * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** This thread's id in the operating system (Linux: from /proc/thread-self), or undefined where it cannot be read. */
export function osThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the thread `tid` of this process has ended (Linux: its /proc entry is gone); false where that cannot be told. */
export function osThreadIsGone(tid: number): boolean {
  try {
    statSync('/proc/self/task');
  } catch {
    return false;
  }
  try {
    statSync(`/proc/self/task/${tid}`);
    return false;
  } catch {
    return true;
  }
}
