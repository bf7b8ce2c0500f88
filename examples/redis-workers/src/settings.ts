import { parseArgs } from 'node:util';

/** Where the example's streams live; every script reads the same flags and environment. */
export interface Settings {
  /** `--redis` or `REDIS_URL`; default `redis://127.0.0.1:6379`. */
  readonly redis: string;
  /** The stream the feeder writes and the workers read (`--input`, default `tasks`). */
  readonly input: string;
  /** The stream the workers write (`--output`, default `results`). */
  readonly output: string;
  /** The consumer group the workers share (`--group`, default `workers`). */
  readonly group: string;
}

/** Parses the common flags plus `extra` ones; positional arguments come back as `rest`. */
export function parseSettings(argv: readonly string[], extra: Record<string, { type: 'string' }> = {}) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
      input: { type: 'string', default: 'tasks' },
      output: { type: 'string', default: 'results' },
      group: { type: 'string', default: 'workers' },
      ...extra,
    },
  });
  const settings: Settings = {
    redis: String(values.redis),
    input: String(values.input),
    output: String(values.output),
    group: String(values.group),
  };
  return { settings, values: values as Record<string, string | undefined>, rest: positionals };
}
