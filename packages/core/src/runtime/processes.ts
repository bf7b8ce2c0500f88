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
