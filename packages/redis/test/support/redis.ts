import { randomUUID } from 'node:crypto';
import { EventLog, silentLogger, SystemClock, type Logger, type SourceReaderContext } from '@tributary/core';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { parseEntries, type RawEntry } from '../../src/internal/replies.js';

/** The URL of the server the global setup started (or TRIBUTARY_REDIS_URL). */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A key no other test uses: tests share one server and run in parallel. */
export function uniqueKey(prefix: string): string {
  return `test:${prefix}:${randomUUID()}`;
}

export function adminClient(): Redis {
  return new Redis(redisUrl());
}

/** Appends `entries` (pipelined) and returns their ids in order. */
export async function addEntries(client: Redis, stream: string, entries: readonly Record<string, string>[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < entries.length; i += 1_000) {
    const pipeline = client.pipeline();
    for (const fields of entries.slice(i, i + 1_000)) pipeline.xadd(stream, '*', ...Object.entries(fields).flat());
    const results = (await pipeline.exec()) ?? [];
    for (const [error, id] of results) {
      if (error !== null) throw error;
      ids.push(id as string);
    }
  }
  return ids;
}

/** Pending entries of the group, per consumer (`XPENDING` summary). */
export async function pendingByConsumer(client: Redis, stream: string, group: string): Promise<Map<string, number>> {
  const reply = (await client.call('XPENDING', stream, group)) as [number, string | null, string | null, [string, string][] | null];
  return new Map((reply[3] ?? []).map(([consumer, count]) => [consumer, Number(count)]));
}

export async function pendingCount(client: Redis, stream: string, group: string): Promise<number> {
  const reply = (await client.call('XPENDING', stream, group)) as [number, ...unknown[]];
  return Number(reply[0]);
}

/**
 * Waits until `count` of the group's pending entries have been idle for at least `ms` in Redis's own
 * time (a claim takes only those): a few polls, since a delivery is a millisecond old after a round trip or two.
 */
export async function idleAtLeast(client: Redis, stream: string, group: string, count: number, ms: number): Promise<void> {
  for (let poll = 0; poll < 1_000; poll++) {
    const idle = (await client.call('XPENDING', stream, group, 'IDLE', ms, '-', '+', count)) as unknown[];
    if (idle.length >= count) return;
  }
  throw new Error(`${count} pending entries of ${stream} did not become ${ms} ms idle`);
}

/** Ids of the group's pending entries, oldest first. */
export async function pendingIds(client: Redis, stream: string, group: string): Promise<string[]> {
  const reply = (await client.call('XPENDING', stream, group, '-', '+', 1_000_000)) as [string, string, number, number][];
  return reply.map(([id]) => id);
}

/** Every entry of a stream, read in pages. */
export async function readAll(client: Redis, stream: string): Promise<RawEntry[]> {
  const all: RawEntry[] = [];
  let start = '-';
  for (;;) {
    const page = parseEntries(await client.call('XRANGE', stream, start, '+', 'COUNT', 10_000));
    const last = page.at(-1);
    if (last === undefined) return all;
    all.push(...page);
    start = `(${last.id}`;
  }
}

/** A reader context for driving a reader without a job; its events go to `logger` (none by default). */
export function readerContext(
  signal: AbortSignal = new AbortController().signal,
  logger: Logger = silentLogger,
  checkpointing = true,
  drainSignal: AbortSignal = new AbortController().signal,
): SourceReaderContext {
  return { subtaskIndex: 0, parallelism: 1, signal, log: new EventLog(logger, new SystemClock(), { job: 'test' }), checkpointing, drainSignal };
}

/** Polls `check` until it returns true; for conditions Redis reaches on its own schedule (replies on another connection). */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
