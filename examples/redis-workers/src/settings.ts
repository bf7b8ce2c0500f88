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

/** The flags every script takes, for the scripts' `--help`. */
const COMMON_FLAGS = `  --redis <url>      Redis to use (default: REDIS_URL, else redis://127.0.0.1:6379)
  --input <stream>   the stream of tasks (default tasks)
  --output <stream>  the stream of results (default results)
  --group <name>     the consumer group of the workers (default workers)
  -h, --help         show this help`;

/**
 * Parses the common flags plus `extra` ones; positional arguments come back as `rest`. `-h`/`--help` prints `usage`
 * and exits 0; a flag it does not know (or one without its value) exits 2 with one line that names it.
 */
export function parseSettings(argv: readonly string[], usage: string, extra: Record<string, { type: 'string' }> = {}) {
  const program = /^usage: (\S+)/.exec(usage)?.[1] ?? 'redis-workers';
  let parsed;
  try {
    parsed = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      allowPositionals: true,
      options: {
        redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
        input: { type: 'string', default: 'tasks' },
        output: { type: 'string', default: 'results' },
        group: { type: 'string', default: 'workers' },
        help: { type: 'boolean', short: 'h' },
        ...extra,
      },
    });
  } catch (error) {
    // node:util's parseArgs adds a second sentence of advice to its first.
    const message = (error instanceof Error ? error.message : String(error)).split('. ')[0]!.replace(/\.$/, '');
    return fail(program, message);
  }
  const { values: parsedValues, positionals } = parsed;
  const { help, ...values } = parsedValues;
  if (help === true) {
    console.log(`${usage}\n\n${COMMON_FLAGS}`);
    process.exit(0);
  }
  const settings: Settings = {
    redis: redisUrl(program, String(values.redis)),
    input: named(program, '--input', values.input),
    output: named(program, '--output', values.output),
    group: named(program, '--group', values.group),
  };
  return { settings, values: values as Record<string, string | undefined>, rest: positionals };
}

/** A stream or group name: empty is refused here, naming the flag, rather than deep in a connector. */
function named(program: string, flag: string, value: unknown): string {
  const name = String(value);
  if (name.trim() === '') fail(program, `${flag} needs a name`);
  return name;
}

/** A `redis://` or `rediss://` URL, or the script ends naming `--redis`. */
function redisUrl(program: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) {
    fail(program, `--redis must be a redis:// or rediss:// URL, got '${value}'`);
  }
  return value;
}

/** Ends the script with one line naming what is wrong, and the exit code of bad usage. */
export function fail(program: string, message: string): never {
  console.error(`${program}: ${message} (see --help)`);
  process.exit(2);
}
