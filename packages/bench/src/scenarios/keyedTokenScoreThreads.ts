// S7 written by hand on two worker threads: the peer of the two-slot row. Each thread reads every other line, scores it
// and counts the users that hash to it; the records of the other thread's users cross a MessageChannel in chunks of
// 256 as two column arrays, as a hand-written program would send them. This module is also the threads' entry.
import { isMainThread, MessageChannel, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import type { Checksum, Contender } from '../harness/model.js';
import { emitted, s7Lines, scoreLine } from './keyedTokenScoreWorkload.js';

const CHUNK = 256;
/** Lines a thread reads before it lets its event loop take the other thread's chunks: bounds what waits in the port. */
const SLICE = 16 * CHUNK;

/** Main thread -> a thread: its peer's port once, then one message per run. */
type ToThread = { readonly peer: MessagePort } | { readonly run: number; readonly n: number };
/** Between the threads: a chunk of the other thread's users, or the end of a run's chunks. */
type ToPeer = readonly [run: number, users: string[], scores: number[]] | readonly [run: number];

/** FNV-1a of the user: which thread counts it. */
function threadOf(user: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < user.length; i++) hash = Math.imul(hash ^ user.charCodeAt(i), 0x01000193);
  return hash & 1;
}

if (!isMainThread && (workerData as { s7Thread?: number } | undefined)?.s7Thread !== undefined) {
  const self = (workerData as { s7Thread: number }).s7Thread;
  const port = parentPort as MessagePort;
  let peer: MessagePort | undefined;
  const counts = new Map<string, number>();
  let run = -1;
  let count = 0;
  let sum = 0;
  let readDone = false;
  let peerDone = false;
  // A run starts at its first message, from the main thread or from the peer, whichever comes first.
  const enter = (id: number) => {
    if (id === run) return;
    run = id;
    counts.clear();
    count = sum = 0;
    readDone = peerDone = false;
  };
  const add = (user: string, score: number) => {
    const next = (counts.get(user) ?? 0) + 1;
    counts.set(user, next);
    count++;
    sum += emitted(next, score);
  };
  const finish = () => {
    if (readDone && peerDone) port.postMessage({ count, sum } satisfies Checksum);
  };
  const read = async (id: number, n: number) => {
    const out = peer as MessagePort;
    let users: string[] = [];
    let scores: number[] = [];
    let i = 0;
    for (const line of s7Lines(n)) {
      if (i++ % 2 !== self) continue;
      const { user, score } = scoreLine(line);
      if (threadOf(user) === self) add(user, score);
      else {
        users.push(user);
        scores.push(score);
        if (users.length === CHUNK) {
          out.postMessage([id, users, scores] satisfies ToPeer);
          users = [];
          scores = [];
        }
      }
      if (i % SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    if (users.length > 0) out.postMessage([id, users, scores] satisfies ToPeer);
    out.postMessage([id] satisfies ToPeer);
    readDone = true;
    finish();
  };
  port.on('message', (message: ToThread) => {
    if ('peer' in message) {
      peer = message.peer;
      peer.on('message', ([id, users, scores]: ToPeer) => {
        enter(id);
        if (users === undefined) {
          peerDone = true;
          finish();
          return;
        }
        for (let i = 0; i < users.length; i++) add(users[i] as string, (scores as number[])[i] as number);
      });
      return;
    }
    enter(message.run);
    void read(message.run, message.n);
  });
}

/** The two threads, started by the first run and kept for the rest, as the slots' threads are. */
let threads: Worker[] | undefined;
let runs = 0;

function start(): Worker[] {
  const started = [0, 1].map((s7Thread) => new Worker(new URL(import.meta.url), { workerData: { s7Thread } }));
  const { port1, port2 } = new MessageChannel();
  started[0]!.postMessage({ peer: port1 } satisfies ToThread, [port1]);
  started[1]!.postMessage({ peer: port2 } satisfies ToThread, [port2]);
  return started;
}

function runOn(thread: Worker, run: number, n: number): Promise<Checksum> {
  return new Promise((resolve, reject) => {
    // Each listener removes the other: the threads serve every run of a process, and a run's listeners must not outlive it.
    const done = (checksum: Checksum) => {
      thread.off('error', fail);
      resolve(checksum);
    };
    const fail = (error: Error) => {
      thread.off('message', done);
      reject(error);
    };
    thread.once('message', done);
    thread.once('error', fail);
    thread.postMessage({ run, n } satisfies ToThread);
  });
}

export const handThreads: Contender<number, Checksum> = {
  id: 'hand-threads-p2',
  label: 'hand-written, two worker threads',
  note:
    'two `worker_threads`, each reading every other line with the same `scoreLine` and counting in a `Map` the users that hash to it (FNV-1a); ' +
    `the other thread's records cross a \`MessageChannel\` as two arrays (users, scores) per ${CHUNK} records, with no flow control but a turn of the event loop every ${SLICE} lines; the threads are kept between runs`,
  extra: true,
  // Warmed up as the slots row is: each thread's per-chunk code sees every other chunk of the input.
  recordsPerCall: 2 * CHUNK,
  run: async (n) => {
    threads ??= start();
    const run = runs++;
    const [a, b] = await Promise.all(threads.map((thread) => runOn(thread, run, n)));
    return { count: a!.count + b!.count, sum: a!.sum + b!.sum };
  },
  teardown: async () => {
    await Promise.all((threads ?? []).map((thread) => thread.terminate()));
    threads = undefined;
  },
};
