// Which way should chunks of records cross between two slots (issue 21)? Measures the CPU of
// both threads per record for three transports, with the same credit scheme (8 chunks in flight):
//   clone:    postMessage of the chunk itself (structured clone)
//   transfer: v8.serialize of the chunk, its ArrayBuffer transferred through postMessage
//   ring:     v8.serialize of the chunk into a SharedArrayBuffer ring, Atomics.waitAsync to wake the reader
//   json:     JSON.stringify of the chunk, the string posted (for scale only: JSON loses undefined, Map, Date, ...)
// and `slots`, the chosen one as built: SlotTransport feeding an InputChannel that a reader polls.
// Run (after building core, for `slots`): node packages/core/bench-scripts/slotTransportChoice.mjs [rounds] [shapes] [modes]
// Shapes: small ({ key, value }), 1kb (strings), nested (the main job's bucket entries: strings, a typed array and an object per record).
// Prints ns of CPU (user + system, both threads) per record, the median of `rounds` runs, worker start-up excluded.
import { Worker, MessageChannel, isMainThread, workerData, parentPort } from 'node:worker_threads';
import v8 from 'node:v8';

const CHUNK = 256;
const CAPACITY = 8;
const RING_BYTES = 16 * 1024 * 1024;

function chunkOf(shape) {
  const chunk = new Array(CHUNK);
  for (let i = 0; i < CHUNK; i++) {
    chunk[i] = shape === 'small' ? { key: `key-${i * 7919}`, value: i * 1.5 } : shape === 'nested' ? bucketEntry(i) : `${i}`.padEnd(1024, 'x');
  }
  return chunk;
}

/** The main job's records between slots: 16 LSH bucket entries per document, sharing its signature and the document itself. */
function bucketEntry(i) {
  const d = Math.floor(i / 16);
  docs[d] ??= { signature: new Int32Array(10).fill(d), doc: { id: `doc-${d}`, text: `${d}`.padEnd(200, ' words'), vector: new Float32Array(128).fill(d / 16) } };
  return { bucket: `${i % 16}:${(i * 7919).toString(16)}`, band: i % 16, ...docs[d] };
}
const docs = [];

/** Runs one producer and one consumer worker; returns the process's CPU ns. */
async function run(mode, shape, records) {
  const { port1, port2 } = new MessageChannel();
  const sab = mode === 'ring' ? new SharedArrayBuffer(RING_BYTES + 16) : undefined;
  const start = process.cpuUsage();
  const spawn = (role, port) =>
    new Promise((resolve, reject) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: { role, mode, shape, records, port, sab }, transferList: [port] });
      let result;
      worker.on('message', (value) => (result = value));
      worker.on('error', reject);
      worker.on('exit', () => resolve(result));
    });
  const [, received] = await Promise.all([spawn('producer', port1), spawn('consumer', port2)]);
  const used = process.cpuUsage(start);
  if (received !== records) throw new Error(`received ${received} of ${records}`);
  return (used.user + used.system) * 1000;
}

async function produceThroughSlots(chunk, chunks, port) {
  const { SlotTransport } = await import('../dist/runtime/slots/SlotTransport.js');
  const transport = new SlotTransport({ slot: 1, ports: new Map([[0, port]]), capacity: CAPACITY });
  const partition = transport.partition('sum', 0, [undefined], "'bench' to 'sum'");
  for (let i = 0; i < chunks; i++) if (!partition.emit(0, chunk)) await partition.writable(0);
  partition.finish();
}

async function consumeThroughSlots(port) {
  const { SlotTransport } = await import('../dist/runtime/slots/SlotTransport.js');
  const { InputChannel } = await import('../dist/runtime/InputChannel.js');
  const transport = new SlotTransport({ slot: 0, ports: new Map([[1, port]]), capacity: CAPACITY });
  const channel = new InputChannel(1, CAPACITY);
  transport.accept('sum', 0, channel);
  let records = 0;
  for (;;) {
    const chunk = channel.poll();
    if (chunk === null) break;
    if (chunk === undefined) await channel.readable();
    else records += chunk.length;
  }
  transport.close();
  parentPort.postMessage(records);
}

function produce(mode, chunk, chunks, port, sab) {
  if (mode === 'slots') return produceThroughSlots(chunk, chunks, port);
  let credits = CAPACITY;
  let sent = 0;
  const ring = sab && new Ring(sab);
  const pump = () => {
    while (sent < chunks && credits > 0) {
      credits--;
      sent++;
      if (mode === 'clone') port.postMessage(chunk);
      else if (mode === 'json') port.postMessage(JSON.stringify(chunk));
      else if (mode === 'transfer') {
        const bytes = v8.serialize(chunk);
        port.postMessage(bytes.buffer, [bytes.buffer]);
      } else ring.write(v8.serialize(chunk));
    }
    if (sent === chunks) {
      port.postMessage('end');
      port.close();
    }
  };
  port.on('message', (n) => {
    credits += n;
    pump();
  });
  pump();
}

function consume(mode, chunks, port, sab) {
  if (mode === 'slots') return consumeThroughSlots(port);
  let received = 0;
  let records = 0;
  let credit = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    port.postMessage(credit);
    credit = 0;
  };
  const take = (chunk) => {
    records += chunk.length;
    received++;
    credit++;
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
    if (received === chunks) {
      port.close();
      parentPort.postMessage(records);
    }
  };
  if (mode === 'ring') {
    const ring = new Ring(sab);
    port.on('message', () => {});
    const drain = () => {
      let bytes;
      while (received < chunks && (bytes = ring.read()) !== undefined) take(v8.deserialize(bytes));
      if (received < chunks) ring.waitForData().then(drain);
    };
    drain();
    return;
  }
  port.on('message', (message) => {
    if (message === 'end') return;
    take(mode === 'clone' ? message : mode === 'json' ? JSON.parse(message) : v8.deserialize(new Uint8Array(message)));
  });
}

/** A single-producer single-consumer byte ring: [write offset, read offset] as Int32 at the end. */
class Ring {
  constructor(sab) {
    this.bytes = new Uint8Array(sab, 0, RING_BYTES);
    this.view = new DataView(sab, 0, RING_BYTES);
    this.index = new Int32Array(sab, RING_BYTES, 4);
  }
  write(payload) {
    let w = Atomics.load(this.index, 0);
    const need = 4 + payload.length;
    if (w + need + 4 > RING_BYTES) {
      // Wrap: a zero length marks "continue at 0". Credits keep the ring from overrunning the reader.
      this.view.setInt32(w, 0);
      w = 0;
    }
    this.view.setInt32(w, payload.length);
    this.bytes.set(payload, w + 4);
    Atomics.store(this.index, 0, w + need);
    Atomics.add(this.index, 2, 1);
    Atomics.notify(this.index, 2);
  }
  read() {
    let r = Atomics.load(this.index, 1);
    if (r === Atomics.load(this.index, 0)) return undefined;
    let length = this.view.getInt32(r);
    if (length === 0) {
      r = 0;
      length = this.view.getInt32(0);
    }
    const payload = this.bytes.subarray(r + 4, r + 4 + length);
    Atomics.store(this.index, 1, r + 4 + length);
    return payload;
  }
  waitForData() {
    const seen = Atomics.load(this.index, 2);
    if (Atomics.load(this.index, 1) !== Atomics.load(this.index, 0)) return Promise.resolve();
    const { async, value } = Atomics.waitAsync(this.index, 2, seen);
    return async ? value : Promise.resolve();
  }
}

if (isMainThread) {
  const rounds = Number(process.argv[2] ?? 5);
  // Optional: the shapes and the ways to measure, comma-separated (default: all).
  const shapes = process.argv[3]?.split(',');
  const modes = process.argv[4]?.split(',') ?? ['clone', 'transfer', 'ring', 'json', 'slots'];
  const cases = [
    { shape: 'small', records: 2_048_000 },
    { shape: '1kb', records: 204_800 },
    { shape: 'nested', records: 512_000 },
  ].filter(({ shape }) => shapes === undefined || shapes.includes(shape));
  console.log(`ns CPU per record (both threads), ${CHUNK}-record chunks, ${CAPACITY} credits, median of ${rounds}`);
  for (const { shape, records } of cases) {
    for (const mode of modes) {
      const samples = [];
      // Less a one-chunk run's CPU: starting two workers is not the transport's cost.
      for (let r = 0; r < rounds; r++) samples.push(((await run(mode, shape, records)) - (await run(mode, shape, CHUNK))) / (records - CHUNK));
      samples.sort((a, b) => a - b);
      console.log(`${shape.padEnd(6)} ${mode.padEnd(9)} ${samples[Math.floor(rounds / 2)].toFixed(0).padStart(6)} ns/record`);
    }
  }
} else {
  const { mode, shape, records, port, sab } = workerData;
  if (workerData.role === 'producer') produce(mode, chunkOf(shape), records / CHUNK, port, sab);
  else consume(mode, records / CHUNK, port, sab);
}
