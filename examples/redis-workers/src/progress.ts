import { DEFAULT_IDEMPOTENCY_FIELD } from '@tributary/redis';
import { Redis } from 'ioredis';
import type { Settings } from './settings.js';

/** A consumer of the group as `XINFO CONSUMERS` shows it. */
export interface ConsumerInfo {
  readonly name: string;
  /** Entries delivered to it and not acked yet. */
  readonly pending: number;
  /** Milliseconds since it last read. */
  readonly idleMs: number;
}

/** Where the work stands. */
export interface Progress {
  /** Entries in the input stream. */
  readonly tasks: number;
  /** Entries in the output stream, duplicates included. */
  readonly results: number;
  /** Distinct idempotency keys among them: tasks done. */
  readonly done: number;
  readonly duplicates: number;
  /** Entries delivered to some worker and not acked (the group's pending list). */
  readonly pending: number;
  /** Entries not yet delivered to any worker (`XINFO GROUPS` lag; undefined before the group exists). */
  readonly lag: number | undefined;
  /** Results written per worker. */
  readonly byWorker: ReadonlyMap<string, number>;
  readonly consumers: readonly ConsumerInfo[];
}

/** A flat `[name, value, name, value, ...]` reply (RESP2, or RESP3 maps in ioredis' default mapping) as an object. */
function pairs(reply: unknown): Record<string, unknown> {
  if (!Array.isArray(reply)) return (reply ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  return out;
}

/**
 * Reads the streams and the group to tell how far the workers got. Each
 * `poll()` reads only the output entries added since the last one.
 */
export class ProgressWatcher {
  private readonly client: Redis;
  private lastId = '-';
  private readonly keys = new Set<string>();
  private results = 0;
  private readonly byWorker = new Map<string, number>();

  constructor(private readonly settings: Settings) {
    this.client = new Redis(settings.redis);
    // ioredis retries a lost connection by itself; without a listener each failure is printed with its stack.
    let told = false;
    this.client.on('error', (error: Error) => {
      if (told) return;
      told = true;
      console.error(`watch: cannot reach Redis at ${settings.redis} (${error.message}); retrying`);
    });
  }

  async poll(): Promise<Progress> {
    const { input, output, group } = this.settings;
    for (;;) {
      const page = (await this.client.xrange(output, this.lastId, '+', 'COUNT', 10_000)) as [string, string[]][];
      const last = page.at(-1);
      if (last === undefined) break;
      for (const [, fields] of page) {
        const f = pairs(fields);
        this.results++;
        this.keys.add(String(f[DEFAULT_IDEMPOTENCY_FIELD]));
        const worker = String(f.worker);
        this.byWorker.set(worker, (this.byWorker.get(worker) ?? 0) + 1);
      }
      this.lastId = `(${last[0]}`;
    }
    const tasks = await this.client.xlen(input);
    const groups = (await this.client.call('XINFO', 'GROUPS', input).catch(() => [])) as unknown[];
    const info = groups.map(pairs).find((g) => String(g.name) === group);
    const consumers = info === undefined ? [] : ((await this.client.call('XINFO', 'CONSUMERS', input, group)) as unknown[]).map(pairs);
    return {
      tasks,
      results: this.results,
      done: this.keys.size,
      duplicates: this.results - this.keys.size,
      pending: Number(info?.pending ?? 0),
      lag: info?.lag === undefined || info.lag === null ? undefined : Number(info.lag),
      byWorker: new Map(this.byWorker),
      consumers: consumers.map((c) => ({ name: String(c.name), pending: Number(c.pending), idleMs: Number(c.idle) })),
    };
  }

  close(): void {
    this.client.disconnect();
  }
}

/** One line for the terminal. */
export function formatProgress(p: Progress): string {
  const workers = [...p.byWorker].sort(([a], [b]) => a.localeCompare(b)).map(([w, n]) => `${w} ${n}`).join(', ');
  const consumers = p.consumers.map((c) => `${c.name} ${c.pending} pending, idle ${c.idleMs} ms`).join('; ');
  return (
    `tasks ${p.tasks} | done ${p.done} (${p.duplicates} duplicates) | pending ${p.pending}, not yet delivered ${p.lag ?? '?'}` +
    ` | results by worker: ${workers || '-'} | consumers: ${consumers || '-'}`
  );
}
