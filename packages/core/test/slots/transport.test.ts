import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker, type MessagePort, type WorkerOptions } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointBarrier } from '../../src/runtime/checkpoint/CheckpointBarrier.js';
import { InputChannel } from '../../src/runtime/InputChannel.js';
import type { ResultPartition } from '../../src/runtime/ResultPartition.js';
import { SlotTransport } from '../../src/runtime/slots/SlotTransport.js';

/** No message between these ports may be lost: a test that loses one fails. */
const messageLost = (peer: number, error: Error): never => {
  throw new Error(`a message from slot ${peer} could not be read: ${error.message}`);
};

/** A channel that counts what arrived in it, so a test can wait for a message to land. */
class CountingChannel extends InputChannel<unknown> {
  arrivals = 0;
  endSeen = false;
  /** Chunks queued now, and the most ever queued (with one producer: the chunks outstanding to it). */
  queued = 0;
  maxQueued = 0;
  private wakers: (() => void)[] = [];

  override push(producer: number, chunk: unknown[]): boolean {
    this.queued++;
    this.maxQueued = Math.max(this.maxQueued, this.queued);
    this.arrived();
    return super.push(producer, chunk);
  }

  override pushBarrier(producer: number, barrier: CheckpointBarrier): void {
    this.arrived();
    super.pushBarrier(producer, barrier);
  }

  override endOfInput(producer: number): void {
    this.endSeen = true;
    this.arrived();
    super.endOfInput(producer);
  }

  override poll(): unknown[] | CheckpointBarrier | null | undefined {
    const item = super.poll();
    if (Array.isArray(item)) this.queued--;
    return item;
  }

  /** Resolves at the next arrival (for a producer in another thread, whose pace no number of turns bounds). */
  nextArrival(): Promise<void> {
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  private arrived(): void {
    this.arrivals++;
    for (const wake of this.wakers.splice(0)) wake();
  }
}

/** Lets the event loop deliver port messages until `done()` holds (bounded by turns, not time). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 10_000; turn++) {
    if (done()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

/** Lets `n` event-loop turns pass (enough for any message already posted between ports of this thread). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A limit for the tests that start threads or run thousands of arrival orders: the shared 2-core machine may be loaded. */
const HEAVY_TEST_MS = 60_000;

const open: SlotTransport[] = [];

/** Transports for `slots` slots in this thread, one MessageChannel per pair, closed after each test. */
function mesh(slots: number, capacity: number): SlotTransport[] {
  const ports = Array.from({ length: slots }, () => new Map<number, MessagePort>());
  for (let a = 0; a < slots; a++) {
    for (let b = a + 1; b < slots; b++) {
      const { port1, port2 } = new MessageChannel();
      ports[a]!.set(b, port1);
      ports[b]!.set(a, port2);
    }
  }
  const transports = ports.map((p, slot) => new SlotTransport({ slot, ports: p, capacity, messageLost }));
  open.push(...transports);
  return transports;
}

afterEach(() => {
  for (const transport of open.splice(0)) transport.close();
});

/** Everything `channel` hands out now: records, 'BARRIER <id>', 'END'. */
function drain(channel: InputChannel<unknown>, out: unknown[]): void {
  for (;;) {
    const item = channel.poll();
    if (item === undefined) return;
    if (item === null) {
      out.push('END');
      return;
    }
    if (item instanceof CheckpointBarrier) out.push(`BARRIER ${item.id}`);
    else out.push(...item);
  }
}

describe('SlotTransport: order', () => {
  const scripts = [
    { name: 'chunks only', script: ['c:a', 'c:b', 'c:c', 'end'] },
    { name: 'a barrier between chunks', script: ['c:a', 'b:1', 'c:b', 'end'] },
    { name: 'barriers back to back', script: ['b:1', 'b:2', 'c:a', 'b:3', 'end'] },
    { name: 'end right away', script: ['end'] },
  ];

  it.each(scripts)('delivers $name in the order sent, in the queue the sender names', async ({ script }) => {
    const [consumerSlot, producerSlot] = mesh(2, 100) as [SlotTransport, SlotTransport];
    // Two producer queues and two consumer subtasks on one port: each stream keeps to its own queue.
    const channels = [new CountingChannel(2, 100), new CountingChannel(2, 100)];
    const streams: { partition: ResultPartition<unknown>; tag: string }[] = [];
    for (const [index, vertex] of ['sum', 'other'].entries()) {
      consumerSlot.accept(vertex, 0, channels[index]!);
      for (const queue of [0, 1]) {
        streams.push({ partition: producerSlot.partition(vertex, queue, [undefined], `'src' to '${vertex}' (hash)`), tag: `${vertex}${queue}` });
      }
    }
    for (const step of script) {
      for (const { partition, tag } of streams) {
        if (step === 'end') partition.finish();
        else if (step.startsWith('b:')) partition.broadcastBarrier(new CheckpointBarrier(Number(step.slice(2))));
        else partition.emit(0, [`${tag}:${step.slice(2)}`]);
      }
    }
    // Every stream's steps, in each of the 2 channels, twice (two producer queues).
    await until(() => channels.every((c) => c.arrivals === 2 * script.length), 'every message arrived');
    for (const [index, vertex] of ['sum', 'other'].entries()) {
      const out: unknown[] = [];
      drain(channels[index]!, out);
      // The channel reads round-robin: per queue, the records and barriers keep the sent order.
      const expected = script.flatMap((step) => (step === 'end' ? [] : step.startsWith('b:') ? [`BARRIER ${step.slice(2)}`] : [0, 1].map((q) => `${vertex}${q}:${step.slice(2)}`)));
      expect(out).toEqual([...expected, 'END']);
    }
  });

  it('delivers what arrived before accept once the channel is accepted', async () => {
    const [consumerSlot, producerSlot] = mesh(2, 100) as [SlotTransport, SlotTransport];
    const partition = producerSlot.partition('sum', 0, [undefined], "'src' to 'sum' (hash)");
    partition.emit(0, ['early']);
    partition.finish();
    await turns(5);
    const channel = new CountingChannel(1, 100);
    consumerSlot.accept('sum', 0, channel);
    const out: unknown[] = [];
    drain(channel, out);
    expect(out).toEqual(['early', 'END']);
  });

  it('feeds a consumer subtask in its own slot directly', () => {
    const [slot0] = mesh(2, 100) as [SlotTransport, SlotTransport];
    const local = new CountingChannel(1, 2);
    const partition = slot0.partition('sum', 0, [local, undefined], "'src' to 'sum' (hash)");
    expect(partition.emit(0, ['a'])).toBe(true);
    expect(partition.emit(0, ['b'])).toBe(false);
    partition.finish();
    const out: unknown[] = [];
    drain(local, out);
    expect(out).toEqual(['a', 'b', 'END']);
  });
});

type Event = 'a' | 'barrier' | 'b' | 'end';

/** Every interleaving of the producers' sequences, each producer's own order kept. */
function* interleavings(sequences: readonly (readonly Event[])[]): Generator<{ producer: number; event: Event }[]> {
  const next = sequences.map(() => 0);
  const order: { producer: number; event: Event }[] = [];
  const total = sequences.reduce((n, s) => n + s.length, 0);
  function* step(): Generator<{ producer: number; event: Event }[]> {
    if (order.length === total) {
      yield [...order];
      return;
    }
    for (let p = 0; p < sequences.length; p++) {
      const event = sequences[p]![next[p]!];
      if (event === undefined) continue;
      next[p]!++;
      order.push({ producer: p, event });
      yield* step();
      order.pop();
      next[p]!--;
    }
  }
  yield* step();
}

describe('SlotTransport: barrier alignment across slots', () => {
  // Producer 0 is in the consumer's slot 0; producers 1 and 2 are in slots 1 and 2.
  const cases = [
    { name: 'every producer sends a barrier', sequences: [['a', 'barrier', 'b'], ['a', 'barrier', 'b'], ['a', 'barrier', 'b']] as Event[][], orders: 1680 },
    { name: 'a remote producer ends before its barrier', sequences: [['a', 'barrier', 'b'], ['a', 'barrier', 'b'], ['a', 'end']] as Event[][], orders: 560 },
  ];

  it.each(cases)('$name: the barrier comes out once, after every pre-barrier record and before every later one, for every arrival order', async ({ sequences, orders }) => {
    const transports = mesh(3, 100);
    const problems: string[] = [];
    let count = 0;
    for (const order of interleavings(sequences)) {
      const vertex = `sum${count++}`;
      const channel = new CountingChannel(3, 100);
      transports[0]!.accept(vertex, 0, channel);
      const partitions = [0, 1, 2].map((slot) => transports[slot]!.partition(vertex, slot, [slot === 0 ? channel : undefined], `'src' to '${vertex}' (hash)`));
      const out: unknown[] = [];
      let barrierDue = 3;
      for (const { producer, event } of order) {
        const partition = partitions[producer]!;
        const before = channel.arrivals;
        if (event === 'barrier') partition.broadcastBarrier(new CheckpointBarrier(1));
        else if (event === 'end') partition.finish();
        else partition.emit(0, [`${producer}:${event}`]);
        if (event === 'barrier' || event === 'end') barrierDue--;
        // Arrival order = send order: the reader reads after every arrival.
        await until(() => channel.arrivals === before + 1, 'the message arrived');
        drain(channel, out);
        if (out.includes('BARRIER 1') !== (barrierDue === 0)) problems.push(`${vertex}: barrier out ${out.includes('BARRIER 1')} with ${barrierDue} due: ${out.join(' ')}`);
      }
      const lateEnds = sequences.filter((sequence) => !sequence.includes('end')).length;
      for (const [producer, sequence] of sequences.entries()) if (!sequence.includes('end')) partitions[producer]!.finish();
      await until(() => channel.arrivals === order.length + lateEnds, 'every end arrived');
      drain(channel, out);
      const at = out.indexOf('BARRIER 1');
      const misplaced = out.filter((r, i) => (typeof r === 'string' && r.endsWith(':a') && i > at) || (typeof r === 'string' && r.endsWith(':b') && i < at));
      if (out.filter((r) => r === 'BARRIER 1').length !== 1 || misplaced.length > 0 || out.at(-1) !== 'END' || out.length !== 2 + sequences.flat().filter((e) => e === 'a' || e === 'b').length) {
        problems.push(`${vertex}: ${out.join(' ')}`);
      }
      if (problems.length > 5) break;
    }
    expect(problems).toEqual([]);
    expect(count).toBe(orders);
  }, HEAVY_TEST_MS);
});

describe('SlotTransport: credits', () => {
  it.each([{ capacity: 1 }, { capacity: 4 }])('a producer without credit back stops after $capacity chunks and resumes as the consumer polls', async ({ capacity }) => {
    const [consumerSlot, producerSlot] = mesh(2, capacity) as [SlotTransport, SlotTransport];
    const channel = new CountingChannel(1, capacity);
    consumerSlot.accept('sum', 0, channel);
    const partition = producerSlot.partition('sum', 0, [undefined], "'src' to 'sum' (hash)");
    let sent = 0;
    while (sent <= capacity && partition.emit(0, [sent++]));
    expect(sent).toBe(capacity);
    expect(producerSlot.peakOutstanding()).toBe(capacity);
    let resumed = false;
    void partition.writable(0).then(() => (resumed = true));
    await until(() => channel.arrivals === capacity, 'the chunks arrived');
    await turns(10);
    // Nothing polled, so no credit came back: the producer still waits and nothing more is outstanding.
    expect(resumed).toBe(false);
    expect(channel.bufferedRecords).toBe(capacity);
    expect(channel.poll()).toEqual([0]);
    await until(() => resumed, 'the producer resumed after a poll');
    expect(partition.emit(0, [sent])).toBe(false);
    await until(() => channel.arrivals === capacity + 1, 'the next chunk arrived');
    expect(channel.maxQueued).toBe(capacity);
  });

  it('returns the credits of one turn of polls in one message', async () => {
    const { port1, port2 } = new MessageChannel();
    const posted: unknown[] = [];
    const post = port2.postMessage.bind(port2);
    port2.postMessage = (message: unknown) => {
      posted.push(message);
      post(message);
    };
    const producerSlot = new SlotTransport({ slot: 1, ports: new Map([[0, port1]]), capacity: 8, messageLost });
    const consumerSlot = new SlotTransport({ slot: 0, ports: new Map([[1, port2]]), capacity: 8, messageLost });
    open.push(producerSlot, consumerSlot);
    const channel = new CountingChannel(1, 8);
    consumerSlot.accept('sum', 0, channel);
    const partition = producerSlot.partition('sum', 0, [undefined], "'src' to 'sum' (hash)");
    for (let i = 0; i < 8; i++) partition.emit(0, [i]);
    await until(() => channel.arrivals === 8, 'the chunks arrived');
    for (let i = 0; i < 8; i++) channel.poll();
    let resumed = false;
    void partition.writable(0).then(() => (resumed = true));
    await until(() => resumed, 'the credits came back');
    // Kind 4 (credit), then stream 0 got 8 chunks back.
    expect(posted).toEqual([[4, 0, 8]]);
  });
});

describe('SlotTransport: close and failures', () => {
  it('close wakes a producer waiting for credit and drops what arrives later', async () => {
    const [consumerSlot, producerSlot] = mesh(2, 1) as [SlotTransport, SlotTransport];
    const channel = new CountingChannel(1, 1);
    consumerSlot.accept('sum', 0, channel);
    const partition = producerSlot.partition('sum', 0, [undefined], "'src' to 'sum' (hash)");
    expect(partition.emit(0, ['first'])).toBe(false);
    await until(() => channel.arrivals === 1, 'the first chunk arrived');
    let woken = false;
    const waiting = partition.writable(0).then(() => (woken = true));
    producerSlot.close();
    await waiting;
    expect(woken).toBe(true);
    // Closed: nothing more is sent, and the producer never waits again.
    expect(partition.emit(0, ['late'])).toBe(true);
    partition.finish();
    await expect(partition.writable(0)).resolves.toBeUndefined();
    await turns(10);
    expect(channel.arrivals).toBe(1);
  });

  it('a consumer slot that closed drops messages still on their way', async () => {
    const [consumerSlot, producerSlot] = mesh(2, 8) as [SlotTransport, SlotTransport];
    const channel = new CountingChannel(1, 8);
    consumerSlot.accept('sum', 0, channel);
    const partition = producerSlot.partition('sum', 0, [undefined], "'src' to 'sum' (hash)");
    partition.emit(0, ['posted before close']);
    consumerSlot.close();
    await turns(10);
    expect(channel.arrivals).toBe(0);
  });

  it('a producer waiting for credit wakes when the consumer slot closes its end', async () => {
    const [consumerSlot, producerSlot] = mesh(2, 1) as [SlotTransport, SlotTransport];
    consumerSlot.accept('sum', 0, new CountingChannel(1, 1));
    const partition = producerSlot.partition('sum', 0, [undefined], "'src' to 'sum' (hash)");
    partition.emit(0, ['only']);
    const waiting = partition.writable(0);
    consumerSlot.close();
    await expect(waiting).resolves.toBeUndefined();
  });

  it.each([
    { what: 'a function', record: { key: 'a', format: () => 'x' }, error: /could not be cloned/ },
    { what: 'a symbol', record: { key: 'a', tag: Symbol('t') }, error: /could not be cloned/ },
  ])('a record holding $what fails emit naming the edge', ({ record, error }) => {
    const [consumerSlot, producerSlot] = mesh(2, 8) as [SlotTransport, SlotTransport];
    consumerSlot.accept('count per word', 0, new CountingChannel(1, 8));
    const partition = producerSlot.partition('count per word', 0, [undefined], "'tokenize' to 'count per word' (hash)");
    let thrown: unknown;
    try {
      partition.emit(0, [{ key: 'fine' }, record]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Error);
    const message = (thrown as Error).message;
    expect(message).toMatch(/^records from 'tokenize' to 'count per word' \(hash\) cannot cross threads: /);
    expect(message).toMatch(error);
    expect(message).toMatch(/records between slots must be structured-cloneable \(class instances arrive as plain objects\)$/);
    // The failed chunk took no credit.
    for (let i = 0; i < 7; i++) expect(partition.emit(0, [i])).toBe(true);
  });

  it.each([
    { name: 'flat records (sent as columns)', chunk: [{ key: 'a', value: 1 }, { key: 'b', value: -0 }, { key: 'c', value: Number.NaN }] },
    { name: 'records with keys in different orders', chunk: [{ a: 1, b: 2 }, { b: 3, a: 4 }] },
    { name: 'nested records', chunk: [{ a: { b: [1, 2] }, at: new Date(5) }] },
    { name: 'strings', chunk: ['x', 'y'] },
  ])('$name arrive as structured clone delivers them', async ({ chunk }) => {
    const [consumerSlot, producerSlot] = mesh(2, 8) as [SlotTransport, SlotTransport];
    const channel = new CountingChannel(1, 8);
    consumerSlot.accept('sum', 0, channel);
    producerSlot.partition('sum', 0, [undefined], "'src' to 'sum' (hash)").emit(0, chunk);
    await until(() => channel.arrivals === 1, 'the chunk arrived');
    const received = channel.poll() as unknown[];
    expect(received).toEqual(structuredClone(chunk));
    expect(received.map((r) => (typeof r === 'object' ? Object.keys(r as object) : r))).toEqual(chunk.map((r) => (typeof r === 'object' ? Object.keys(r) : r)));
    expect(Object.is((received[1] as { value?: number } | undefined)?.value, (chunk[1] as { value?: number } | undefined)?.value)).toBe(true);
  });

  it('class instances arrive as plain objects', async () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const [consumerSlot, producerSlot] = mesh(2, 8) as [SlotTransport, SlotTransport];
    const channel = new CountingChannel(1, 8);
    consumerSlot.accept('sum', 0, channel);
    producerSlot.partition('sum', 0, [undefined], "'src' to 'sum' (hash)").emit(0, [new Point(3)]);
    await until(() => channel.arrivals === 1, 'the chunk arrived');
    const [point] = channel.poll() as unknown[];
    expect(point).toEqual({ x: 3 });
    expect(point).not.toBeInstanceOf(Point);
  });
});

/** Runs a TypeScript module in a worker thread: it registers tsx first (workers get no share of vitest's transform). */
function typescriptWorker(module: URL, options: WorkerOptions): Worker {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(code, { ...options, eval: true });
}

describe('SlotTransport: a producer in a real worker thread', () => {
  it('moves 1,000,000 records to a slow consumer with at most `capacity` chunks outstanding', async () => {
    const capacity = 4;
    const records = 1_000_000;
    const { port1, port2 } = new MessageChannel();
    const consumerSlot = new SlotTransport({ slot: 0, ports: new Map([[1, port1]]), capacity, messageLost });
    open.push(consumerSlot);
    const channel = new CountingChannel(1, capacity);
    consumerSlot.accept('sum', 0, channel);
    const worker = typescriptWorker(new URL('../fixtures/transportProducer.ts', import.meta.url), {
      workerData: { port: port2, records, capacity },
      transferList: [port2],
    });
    const exited = new Promise<number>((resolve) => worker.on('exit', resolve));
    const report = new Promise<{ waits: number; peakOutstanding: number }>((resolve, reject) => {
      worker.on('message', resolve);
      worker.on('error', reject);
    });
    try {
      let received = 0;
      let sum = 0;
      let inOrder = true;
      let chunks = 0;
      for (;;) {
        // Slow, and deterministically so: every 100th chunk, the consumer waits until its queue is full.
        if (chunks % 100 === 0) while (channel.queued < capacity && !channel.endSeen) await channel.nextArrival();
        const item = channel.poll();
        if (item === null) break;
        if (item === undefined) {
          await channel.readable();
          continue;
        }
        if (item instanceof CheckpointBarrier) continue;
        chunks++;
        for (const record of item as { key: string; value: number }[]) {
          if (record.value !== received) inOrder = false;
          sum += record.value;
          received++;
        }
      }
      expect(received).toBe(records);
      expect(inOrder).toBe(true);
      expect(sum).toBe((records * (records - 1)) / 2);
      // The queue was full at every slow step, and never held more: memory bounded by the credits.
      expect(channel.maxQueued).toBe(capacity);
      // The producer's own count agrees: sent and not yet polled, never more than the credits.
      const { waits, peakOutstanding } = await report;
      expect(peakOutstanding).toBe(capacity);
      expect(waits).toBeGreaterThan(0);
    } finally {
      consumerSlot.close();
      // Closing the consumer's end closes the worker's: its loop empties and it exits on its own.
      expect(await exited).toBe(0);
    }
  }, HEAVY_TEST_MS);

  it('a producer waiting for credit wakes when the consumer slot\'s thread is terminated', async () => {
    const capacity = 2;
    const { port1, port2 } = new MessageChannel();
    const producerSlot = new SlotTransport({ slot: 1, ports: new Map([[0, port1]]), capacity, messageLost });
    open.push(producerSlot);
    const worker = typescriptWorker(new URL('../fixtures/transportStalledConsumer.ts', import.meta.url), {
      workerData: { port: port2, capacity },
      transferList: [port2],
    });
    const exited = new Promise<number>((resolve) => worker.on('exit', resolve));
    const full = new Promise((resolve, reject) => {
      worker.on('message', resolve);
      worker.on('error', reject);
    });
    const partition = producerSlot.partition('sum', 0, [undefined], "'src' to 'sum' (hash)");
    expect(partition.emit(0, ['a'])).toBe(true);
    expect(partition.emit(0, ['b'])).toBe(false);
    await full;
    const waiting = partition.writable(0);
    await worker.terminate();
    await exited;
    await expect(waiting).resolves.toBeUndefined();
  }, HEAVY_TEST_MS);
});
