import type { MessagePort } from 'node:worker_threads';
import type { InputChannel } from '../InputChannel.js';
import type { ResultPartition } from '../ResultPartition.js';
import { PeerLink, type StreamDirectory } from './PeerLink.js';
import type { RemoteQueue } from './RemoteQueue.js';
import { LocalSubpartition, SlotResultPartition, type Subpartition } from './SlotResultPartition.js';

/** One slot's ports to the others; see {@link SlotTransport}. */
export interface SlotTransportOptions {
  readonly slot: number;
  /** Peer slot -> port. */
  readonly ports: ReadonlyMap<number, MessagePort>;
  /** Chunks a producer may have outstanding per remote queue (the channel capacity): the credits. */
  readonly capacity: number;
  /** Told when records of a class start crossing `edge`: they arrive as plain objects. */
  readonly classLost?: (edge: string, className: string) => void;
  /** Told when a message from a peer slot could not be read in this one (see `PeerLink`). */
  readonly messageLost: (peer: number, error: Error) => void;
}

/**
 * One slot's links to every other slot (Flink's network stack, credit-based): one
 * MessagePort per pair of slots, created by the main thread, carries every stream
 * between the two. Chunks are structured-cloned, one message each (flat records as
 * columns, see `columnChunks.ts`); a producer spends a credit per chunk and waits when
 * it has none, the consumer returns one per chunk its task polled. So at most `capacity (+1)` chunks per producer and consumer are in
 * flight or queued, whatever the speed of the consumer's slot.
 */
export class SlotTransport implements StreamDirectory {
  private readonly links = new Map<number, PeerLink>();
  /** Consumer channels of this slot, by `vertex/subtask`. */
  private readonly accepted = new Map<string, InputChannel<unknown>>();
  /** Streams a peer opened before their channel was accepted. */
  private readonly unclaimed = new Map<string, RemoteQueue[]>();

  constructor(private readonly options: SlotTransportOptions) {
    for (const [peer, port] of options.ports) this.links.set(peer, new PeerLink(port, this, (error) => options.messageLost(peer, error)));
  }

  /** Chunks, barriers and ends sent to (vertex, subtask) from other slots land in `channel`, in the producer queue the sender names. */
  accept(vertex: string, subtask: number, channel: InputChannel<unknown>): void {
    const key = streamKey(vertex, subtask);
    this.accepted.set(key, channel);
    for (const queue of this.unclaimed.get(key) ?? []) queue.attach(channel);
    this.unclaimed.delete(key);
  }

  /**
   * The partition one producer subtask writes to along one edge. `consumers[j]` is the
   * local channel of consumer subtask j when it lives in this slot, else undefined (it
   * lives in slot j). `queue` is the producer's queue in every consumer channel; `edge`
   * names the edge in errors, as `'tokenize' to 'count per word' (hash)`.
   */
  partition(vertex: string, queue: number, consumers: readonly (InputChannel<unknown> | undefined)[], edge: string): ResultPartition<unknown> {
    const { capacity, classLost } = this.options;
    // A slot holds one producer subtask of the edge: the first of its queues to see a class tells, once for the edge.
    let toldClass = false;
    const tellClass = (className: string): void => {
      if (toldClass) return;
      toldClass = true;
      classLost?.(edge, className);
    };
    const targets = consumers.map((channel, subtask): Subpartition => {
      if (channel !== undefined) return new LocalSubpartition(channel, queue);
      const link = this.links.get(subtask);
      if (link === undefined) throw new Error(`slot ${this.options.slot} has no port to slot ${subtask} (edge ${edge})`);
      return link.open(vertex, subtask, queue, { capacity, edge, classLost: tellClass });
    });
    return new SlotResultPartition(targets);
  }

  opened(queue: RemoteQueue, vertex: string, subtask: number): void {
    const key = streamKey(vertex, subtask);
    const channel = this.accepted.get(key);
    if (channel !== undefined) {
      queue.attach(channel);
      return;
    }
    const waiting = this.unclaimed.get(key);
    if (waiting === undefined) this.unclaimed.set(key, [queue]);
    else waiting.push(queue);
  }

  /**
   * The most chunks one producer of this slot ever had outstanding to a consumer in
   * another slot (sent, not yet polled there): at most `capacity`, plus one for a
   * producer that emits after `emit` returned false. Memory between slots is bounded by it.
   */
  peakOutstanding(): number {
    let peak = 0;
    for (const link of this.links.values()) peak = Math.max(peak, link.peakOutstanding());
    return peak;
  }

  /** The job stops: waiting producers wake, the ports close, late messages are dropped. */
  close(): void {
    for (const link of this.links.values()) link.close();
  }
}

function streamKey(vertex: string, subtask: number): string {
  return `${vertex}/${subtask}`;
}
