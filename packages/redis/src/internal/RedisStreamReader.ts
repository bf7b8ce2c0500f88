import type { Redis } from 'ioredis';
import { messageOf, type EventLog, type SourceReader } from '@tributary/core';
import { closeClient, openClient } from '../connection.js';
import type { Delivery, RedisStreamRecord } from '../records.js';
import type { RedisStreamPosition, ResolvedSourceOptions } from '../RedisStreamSource.js';
import { parseAutoClaimReply, parseReadReply, type RawEntry } from './replies.js';

/** Ids per XACK command: keeps each command small while one pipeline carries them all. */
const ACK_CHUNK = 1_000;

/**
 * One subtask's reader. The bookkeeping of what it returned and what is
 * acked lives here, not in the connection, so a reconnect loses none of it:
 * - `unacked`: ids returned by `read()` and not yet covered by a completed
 *   checkpoint, in return order; `unacked[i]` is the `(ackedSeq + i)`-th
 *   entry returned since start, which is what positions count.
 * - `known`: those ids plus the ones whose XACK is on the way; a re-read of
 *   the pending list or a claim scan skips them (they are being processed).
 *
 * Reads go over a connection of their own (a blocking XREADGROUP holds it);
 * acks go over a second one so they never wait behind a blocked read.
 */
export class RedisStreamReader<T> implements SourceReader<RedisStreamRecord<T>, RedisStreamPosition> {
  private reads: Redis | undefined;
  private control: Redis | undefined;
  private readonly unacked: string[] = [];
  private ackedSeq = 0;
  private returned = 0;
  private readonly known = new Set<string>();
  /** Ids whose XACK was lost with the connection; sent again with the next acks. */
  private retryAcks: string[] = [];
  /** An XACK Redis refused: not a lost connection, so retrying will not help. */
  private ackFailure: Error | undefined;
  private readonly inFlightAcks = new Set<Promise<void>>();
  /** Re-reading this consumer's own pending list, from `rescanCursor` on. */
  private rescanning = true;
  private rescanCursor = '0-0';
  /** Bumped when a reconnect restarts the rescan, so a rescan step already under way does not move the new cursor. */
  private rescanGeneration = 0;
  private claimCursor = '0-0';
  private nextClaimAt = 0;
  private roomWaiters: (() => void)[] = [];
  /** Whether a checkpoint completed; until one does, a reader out of room may be running without checkpointing. */
  private checkpointed = false;
  private warnedNoCheckpoint = false;
  private readonly onAbort = (): void => {
    // Cuts a blocked XREADGROUP short; the pending read then returns nothing.
    if (this.reads !== undefined) closeClient(this.reads);
    this.wakeRoomWaiters();
  };

  constructor(
    private readonly options: ResolvedSourceOptions<T>,
    private readonly consumer: string,
    private readonly signal: AbortSignal,
    private readonly log: EventLog,
    /** The job takes checkpoints: a reader full before the first one completes waits for it, which is no news. */
    private readonly checkpointing: boolean,
    /** Aborted when the job drains: a read waiting for room returns (acks come only with the drain's final checkpoint). */
    private readonly drainSignal: AbortSignal,
  ) {}

  async start(): Promise<void> {
    const { redis, stream, group, createGroup } = this.options;
    this.reads = openClient(redis, `tributary:${group}:${this.consumer}:read`, {}, this.log);
    this.control = openClient(redis, `tributary:${group}:${this.consumer}:ack`, {}, this.log);
    // A read whose reply was lost in a disconnect delivered entries nobody returned: find them in the pending list.
    this.reads.on('reconnecting', () => this.restartRescan());
    this.signal.addEventListener('abort', this.onAbort, { once: true });
    this.drainSignal.addEventListener('abort', () => this.wakeRoomWaiters(), { once: true });
    this.nextClaimAt = this.options.clock.now();
    if (createGroup !== undefined) {
      try {
        await this.control.call('XGROUP', 'CREATE', stream, group, createGroup, 'MKSTREAM');
      } catch (error) {
        if (!messageOf(error).startsWith('BUSYGROUP')) throw this.explain(error, 'XGROUP CREATE');
      }
    }
  }

  async read(max: number): Promise<RedisStreamRecord<T>[]> {
    if (this.signal.aborted) return [];
    if (this.ackFailure !== undefined) throw this.ackFailure;
    if (this.options.ack === 'on-read') void this.ackUpTo(this.returned);
    const room = this.options.maxUnacked - this.known.size;
    if (room <= 0) {
      if (this.drainSignal.aborted) return [];
      this.warnIfNeverCheckpointed();
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      return [];
    }
    const count = Math.min(max, this.options.count, room);
    let command = 'XREADGROUP';
    try {
      if (this.rescanning) {
        const entries = await this.rescan(count);
        // Entries it already holds are skipped, so this may return nothing; the rescan goes on at the next read.
        if (entries.length > 0) return this.emit(entries, 'pending');
      }
      if (this.options.reclaim !== false && this.options.clock.now() >= this.nextClaimAt) {
        command = 'XAUTOCLAIM';
        const claimed = this.emit(await this.claim(count), 'claimed');
        if (claimed.length > 0) return claimed;
      }
      command = 'XREADGROUP';
      return this.emit(await this.readGroup(count, '>', this.options.blockMs), 'new');
    } catch (error) {
      if (this.signal.aborted) return [];
      throw this.explain(error, command);
    }
  }

  position(): RedisStreamPosition {
    return { consumer: this.consumer, returned: this.returned };
  }

  notifyCheckpointComplete(_checkpointId: number, position: RedisStreamPosition): Promise<void> | undefined {
    if (this.options.ack !== 'on-checkpoint' || position.consumer !== this.consumer) return undefined;
    this.checkpointed = true;
    return this.ackUpTo(position.returned).then(() => {
      if (this.ackFailure !== undefined) throw this.ackFailure;
    });
  }

  /**
   * Disconnects without waiting for the replies to acks in flight: the acks written reach Redis before the
   * connection closes, and an ack that never does leaves its entries pending, to be read again (at least once).
   * With Redis down the replies would never come: the close would time out, and the client retry after the job.
   */
  async close(): Promise<void> {
    this.signal.removeEventListener('abort', this.onAbort);
    this.wakeRoomWaiters();
    if (this.reads !== undefined) closeClient(this.reads);
    if (this.control !== undefined) closeClient(this.control);
    await Promise.allSettled([...this.inFlightAcks]);
  }

  // ------------------------------------------------------------------ reading

  private client(): Redis {
    if (this.reads === undefined) throw new Error('RedisStreamSource: read() before start()');
    return this.reads;
  }

  private restartRescan(): void {
    this.rescanning = true;
    this.rescanCursor = '0-0';
    this.rescanGeneration++;
  }

  /** The next entries of this consumer's own pending list; ends the rescan when there are none. */
  private async rescan(count: number): Promise<RawEntry[]> {
    const generation = this.rescanGeneration;
    const entries = await this.readGroup(count, this.rescanCursor);
    if (generation !== this.rescanGeneration) return entries;
    const last = entries.at(-1);
    if (last === undefined) this.rescanning = false;
    else this.rescanCursor = last.id;
    return entries;
  }

  /**
   * XREADGROUP for this consumer: `>` reads new entries (waiting up to
   * `blockMs` for some), an id reads this consumer's pending entries after it.
   */
  private async readGroup(count: number, id: string, blockMs?: number): Promise<RawEntry[]> {
    const block = blockMs === undefined ? [] : ['BLOCK', blockMs];
    const reply = await this.client().call('XREADGROUP', 'GROUP', this.options.group, this.consumer, 'COUNT', count, ...block, 'STREAMS', this.options.stream, id);
    return parseReadReply(reply);
  }

  /** One step of the claim scan; the scan wraps around, then waits `intervalMs`. */
  private async claim(count: number): Promise<RawEntry[]> {
    const reclaim = this.options.reclaim as Exclude<ResolvedSourceOptions<T>['reclaim'], false>;
    const reply = await this.client().call(
      'XAUTOCLAIM',
      this.options.stream,
      this.options.group,
      this.consumer,
      reclaim.minIdleMs,
      this.claimCursor,
      'COUNT',
      count,
    );
    const { next, entries } = parseAutoClaimReply(reply);
    this.claimCursor = next;
    if (next === '0-0') this.nextClaimAt = this.options.clock.now() + reclaim.intervalMs;
    return entries;
  }

  /**
   * Decodes the entries not already in hand and books them as returned. Runs
   * in the same synchronous step as the `return` of `read()`: the position
   * moves exactly when the records are handed over, never before (a barrier
   * may be taken while a read is pending).
   */
  private emit(entries: readonly RawEntry[], delivery: Delivery): RedisStreamRecord<T>[] {
    const records: RedisStreamRecord<T>[] = [];
    const { stream, decode } = this.options;
    for (const { id, fields } of entries) {
      if (this.known.has(id)) continue;
      this.known.add(id);
      this.unacked.push(id);
      if (fields === null) {
        records.push({ kind: 'decode-failure', id, stream, fields: null, error: 'the entry was deleted from the stream while it was pending', delivery });
        continue;
      }
      try {
        records.push({ kind: 'entry', id, value: decode(fields, id), delivery });
      } catch (error) {
        records.push({ kind: 'decode-failure', id, stream, fields, error: messageOf(error), delivery });
      }
    }
    this.returned += records.length;
    return records;
  }

  // ------------------------------------------------------------------ acking

  /** Acks every entry among the first `seq` returned, plus earlier acks that failed. */
  private ackUpTo(seq: number): Promise<void> {
    const take = Math.min(seq - this.ackedSeq, this.unacked.length);
    let ids = take > 0 ? this.unacked.splice(0, take) : [];
    if (take > 0) this.ackedSeq += take;
    if (this.retryAcks.length > 0) {
      // concat, not unshift(...): acks pile up while Redis is down, past what spread arguments take.
      ids = this.retryAcks.concat(ids);
      this.retryAcks = [];
    }
    if (ids.length === 0 || this.control === undefined) return Promise.resolve();
    const pipeline = this.control.pipeline();
    for (let i = 0; i < ids.length; i += ACK_CHUNK) {
      pipeline.call('XACK', this.options.stream, this.options.group, ...ids.slice(i, i + ACK_CHUNK));
    }
    const sent = pipeline.exec().then(
      (results) => {
        const refused = results?.find(([error]) => error !== null)?.[0];
        if (refused !== undefined && refused !== null) this.ackFailure ??= this.explain(refused, 'XACK');
        else if (results === null) this.retryAcks = this.retryAcks.concat(ids);
        else for (const id of ids) this.known.delete(id);
      },
      // A lost connection: the entries stay pending in Redis; the next checkpoint's acks carry them again.
      () => {
        this.retryAcks = this.retryAcks.concat(ids);
      },
    );
    const tracked = sent.finally(() => {
      this.inFlightAcks.delete(tracked);
      this.wakeRoomWaiters();
    });
    this.inFlightAcks.add(tracked);
    return tracked;
  }

  /** A reader that fills up in a job without checkpoints stalls for good: say so once. */
  private warnIfNeverCheckpointed(): void {
    if (this.checkpointing || this.checkpointed || this.warnedNoCheckpoint || this.options.ack !== 'on-checkpoint') return;
    this.warnedNoCheckpoint = true;
    const { maxUnacked, stream } = this.options;
    this.log.event(
      'warn',
      'source.waitingForCheckpoint',
      `RedisStreamSource: consumer '${this.consumer}' holds maxUnacked (${maxUnacked}) unacked entries of stream ` +
        `'${stream}' and reads nothing more: entries are acked when checkpoints complete, and this job takes none. ` +
        `Enable checkpointing (env.enableCheckpointing), or use ack: 'on-read' for a job without it.`,
      { stream, consumer: this.consumer, maxUnacked },
    );
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  private explain(error: unknown, command: string): Error {
    const { stream, group } = this.options;
    const message = messageOf(error);
    if (message.startsWith('NOGROUP')) {
      // With createGroup the group existed at start: someone destroyed it (or the stream) since.
      const fix =
        this.options.createGroup === undefined
          ? `create it (XGROUP CREATE ${stream} ${group} $ MKSTREAM) or pass createGroup: '0' or '$'`
          : 'it was created when the job started, so the group or the stream was deleted since';
      return new Error(`RedisStreamSource: consumer group '${group}' does not exist on stream '${stream}': ${fix}`, { cause: error });
    }
    return new Error(`RedisStreamSource: ${command} on stream '${stream}' (group '${group}', consumer '${this.consumer}') failed: ${message}`, {
      cause: error,
    });
  }
}
