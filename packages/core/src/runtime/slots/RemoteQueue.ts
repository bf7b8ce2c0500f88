import { CheckpointBarrier } from '../checkpoint/CheckpointBarrier.js';
import type { InputChannel, PollListener } from '../InputChannel.js';
import { recordBuilder, type RecordBuilder } from './columnChunks.js';
import { BARRIER, CHUNK, COLUMNS, type StreamMessage } from './peerMessages.js';

/** Record shapes whose builders a stream keeps. */
const MAX_SHAPES = 16;

/** Where a consumer slot's polled chunks turn into credits for their producer. */
export interface CreditSink {
  /** `queue` has chunks polled that its producer has no credit for yet. */
  owe(queue: RemoteQueue): void;
}

/**
 * The consumer's end of one remote producer's queue in a local channel: delivers the
 * stream's chunks, barriers and end into the channel, in order, and counts the chunks
 * the task polled so the transport can return them as credits.
 */
export class RemoteQueue implements PollListener {
  private channel: InputChannel<unknown> | undefined;
  /** Messages that arrived before the channel was accepted. */
  private backlog: StreamMessage[] = [];
  /** Chunks polled whose credit was not sent yet. */
  polled = 0;
  /** Record builders by key list (as JSON): making one compiles a function, and a stream may alternate shapes. */
  private readonly builders = new Map<string, RecordBuilder>();

  constructor(
    private readonly credits: CreditSink,
    /** The producer's number for this stream. */
    readonly stream: number,
    private readonly queue: number,
  ) {}

  /** The channel is known: deliver what waited for it. */
  attach(channel: InputChannel<unknown>): void {
    this.channel = channel;
    channel.onChunkPolled(this.queue, this);
    const backlog = this.backlog;
    this.backlog = [];
    for (const message of backlog) this.deliver(message);
  }

  deliver(message: StreamMessage): void {
    const channel = this.channel;
    if (channel === undefined) {
      this.backlog.push(message);
      return;
    }
    // The channel's own answer to push is for local producers; this one waits on credits.
    if (message[0] === CHUNK) channel.push(this.queue, message[2]);
    else if (message[0] === COLUMNS) channel.push(this.queue, this.builderOf(message[2])(message[3]));
    else if (message[0] === BARRIER) channel.pushBarrier(this.queue, new CheckpointBarrier(message[2]));
    else channel.endOfInput(this.queue);
  }

  private builderOf(keys: readonly string[]): RecordBuilder {
    const id = JSON.stringify(keys);
    let build = this.builders.get(id);
    if (build === undefined) {
      // A stream of ever new shapes must not grow the cache without bound.
      if (this.builders.size === MAX_SHAPES) this.builders.clear();
      build = recordBuilder(keys);
      this.builders.set(id, build);
    }
    return build;
  }

  chunkPolled(): void {
    if (this.polled++ === 0) this.credits.owe(this);
  }
}
