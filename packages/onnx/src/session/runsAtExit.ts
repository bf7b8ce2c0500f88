/**
 * Keeps a thread from ending while a session worker it started is inside
 * `session.run`: a thread that ends takes its worker threads down with it,
 * and onnxruntime-node aborts the whole process when its thread is torn down
 * mid-run (a C++ exception from a call into a stopping environment). Each
 * session worker shares a cell with the thread that started it: the runs
 * posted to it that have not returned (a run waiting behind another starts
 * as soon as that one returns, so it counts too). On `exit`
 * (`process.exit()`, an uncaught error, a slot ending itself) the thread
 * blocks until every cell reads 0. A `terminate()` from outside runs no
 * `exit` listener: nothing here helps then.
 */

/** Longest wait at exit (ms): a worker that died without clearing its cell must not hold the thread forever. */
const EXIT_WAIT_LIMIT_MS = 60_000;

const cells = new Set<Int32Array>();
let listening = false;

/** A cell for a new session worker, watched at this thread's exit until {@link forgetRunCell}. */
export function runCell(): Int32Array {
  if (!listening) {
    listening = true;
    process.on('exit', waitForRuns);
  }
  const cell = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  cells.add(cell);
  return cell;
}

/** The worker has ended: its cell no longer matters. */
export function forgetRunCell(cell: Int32Array): void {
  cells.delete(cell);
}

function waitForRuns(): void {
  const deadline = performance.now() + EXIT_WAIT_LIMIT_MS;
  for (const cell of cells) {
    while (Atomics.load(cell, 0) !== 0) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      Atomics.wait(cell, 0, Atomics.load(cell, 0), left);
    }
  }
}
