import type { MessagePort } from 'node:worker_threads';
import { RemoteQueue, type CreditSink } from './RemoteQueue.js';
import { RemoteSubpartition } from './RemoteSubpartition.js';
import { BARRIER, CHUNK, COLUMNS, CREDIT, END, OPEN, type PeerMessage } from './peerMessages.js';

/** Where a stream a peer opened finds its consumer channel. */
export interface StreamDirectory {
  opened(queue: RemoteQueue, vertex: string, subtask: number): void;
}

/**
 * This slot's end of the port to one peer slot: sends the streams this slot produces
 * for the peer, delivers the streams the peer produces for this slot, and returns
 * their credits once per turn (one message for every chunk polled since the last).
 */
export class PeerLink implements CreditSink {
  /** Streams this slot sends, by their number. */
  private readonly outgoing: RemoteSubpartition[] = [];
  /** Streams the peer sends, by the peer's number. */
  private readonly incoming: RemoteQueue[] = [];
  private owed: RemoteQueue[] = [];
  private closed = false;
  private readonly flushCredits = (): void => this.returnCredits();

  constructor(
    private readonly port: MessagePort,
    private readonly directory: StreamDirectory,
    /** Told when a message of the peer could not be read here (a chunk, a barrier or credits lost): the job must fail. */
    lost: (error: Error) => void,
  ) {
    port.on('message', (message: PeerMessage) => this.receive(message));
    port.on('messageerror', lost);
    // The peer closed its end (its slot stops): producers waiting for its credits must not hang.
    port.on('close', () => this.close());
  }

  /** A new stream from this slot to `subtask` of `vertex` in the peer, as producer queue `queue`. */
  open(
    vertex: string,
    subtask: number,
    queue: number,
    options: { readonly capacity: number; readonly edge: string; readonly classLost?: (className: string) => void },
  ): RemoteSubpartition {
    const subpartition = new RemoteSubpartition(this.port, this.outgoing.length, options.capacity, options.edge, options.classLost);
    this.outgoing.push(subpartition);
    if (this.closed) subpartition.close();
    else subpartition.open(vertex, subtask, queue);
    return subpartition;
  }

  /** The most chunks one stream of this slot to the peer ever had outstanding. */
  peakOutstanding(): number {
    return this.outgoing.reduce((peak, subpartition) => Math.max(peak, subpartition.peakOutstanding), 0);
  }

  owe(queue: RemoteQueue): void {
    this.owed.push(queue);
    // Credits go back when the task yields: a turn's polls share one message.
    if (this.owed.length === 1) queueMicrotask(this.flushCredits);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    for (const subpartition of this.outgoing) subpartition.close();
  }

  private receive(message: PeerMessage): void {
    if (this.closed) return;
    switch (message[0]) {
      case CHUNK:
      case COLUMNS:
      case BARRIER:
      case END:
        (this.incoming[message[1]] as RemoteQueue).deliver(message);
        return;
      case OPEN: {
        const queue = new RemoteQueue(this, message[1], message[4]);
        this.incoming[message[1]] = queue;
        this.directory.opened(queue, message[2], message[3]);
        return;
      }
      case CREDIT:
        for (let i = 1; i < message.length; i += 2) (this.outgoing[message[i] as number] as RemoteSubpartition).grant(message[i + 1] as number);
        return;
    }
  }

  private returnCredits(): void {
    const owed = this.owed;
    this.owed = [];
    if (this.closed) return;
    const message: number[] = [CREDIT];
    for (const queue of owed) {
      message.push(queue.stream, queue.polled);
      queue.polled = 0;
    }
    this.port.postMessage(message);
  }
}
