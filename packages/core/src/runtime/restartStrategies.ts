import { OptionChecker } from '../api/OptionChecker.js';

/**
 * What the runtime does when a job fails inside the process: give up
 * (`none`), or restart from the latest completed checkpoint (from the start
 * when there is none) after a delay. Delays are finite milliseconds (any
 * length: a 30-day delay waits 30 days); `attempts` may be `Infinity`.
 */
export type RestartStrategy =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'fixedDelay';
      /** Restarts before giving up; `Infinity` for unlimited. */
      readonly attempts: number;
      readonly delayMs: number;
    }
  | {
      readonly kind: 'exponentialDelay';
      readonly initialDelayMs: number;
      readonly maxDelayMs: number;
      /** A finite number >= 1. Default 2. */
      readonly multiplier?: number;
      /** Restarts before giving up. Default (or `Infinity`): unlimited. */
      readonly attempts?: number;
    };

/** Factories for {@link RestartStrategy} values; each checks what it is given, as the environment would. */
export const RestartStrategies = {
  none: (): RestartStrategy => ({ kind: 'none' }),
  fixedDelay: (attempts: number, delayMs: number): RestartStrategy => validateRestartStrategy({ kind: 'fixedDelay', attempts, delayMs }),
  exponentialDelay: (options: Omit<Extract<RestartStrategy, { kind: 'exponentialDelay' }>, 'kind'>): RestartStrategy =>
    validateRestartStrategy({ ...options, kind: 'exponentialDelay' }),
} as const;

const STRATEGY_FIELDS = {
  none: ['kind'],
  fixedDelay: ['kind', 'attempts', 'delayMs'],
  exponentialDelay: ['kind', 'initialDelayMs', 'maxDelayMs', 'multiplier', 'attempts'],
} as const;

/** Rejects a strategy that cannot work, naming the field. */
export function validateRestartStrategy(strategy: RestartStrategy): RestartStrategy {
  const given: unknown = (strategy as Partial<RestartStrategy> | null)?.kind;
  const check = new OptionChecker(typeof given === 'string' ? `restartStrategy ${given}` : 'restartStrategy');
  check.object(strategy);
  const kind = check.oneOf('kind', strategy.kind, ['none', 'fixedDelay', 'exponentialDelay']);
  check.known(strategy, STRATEGY_FIELDS[kind]);
  // Infinity restarts means "never give up"; any other count is a whole number.
  const attempts = (v: number | undefined) => {
    if (v !== undefined && v !== Number.POSITIVE_INFINITY) check.integer('attempts', v, 0);
  };
  switch (strategy.kind) {
    case 'none':
      break;
    case 'fixedDelay':
      attempts(strategy.attempts);
      check.duration('delayMs', strategy.delayMs);
      break;
    case 'exponentialDelay':
      check.duration('initialDelayMs', strategy.initialDelayMs);
      check.duration('maxDelayMs', strategy.maxDelayMs);
      // The cap would cut every delay, the first included, to maxDelayMs (as the async package's retries refuse too).
      if (strategy.maxDelayMs < strategy.initialDelayMs) {
        check.fail(`option 'maxDelayMs' (${strategy.maxDelayMs}) must be >= initialDelayMs (${strategy.initialDelayMs})`);
      }
      attempts(strategy.attempts);
      check.optionalNumber('multiplier', strategy.multiplier, { min: 1 });
      break;
  }
  return strategy;
}

/** The delay before restart number `restart` (1-based), or undefined when the strategy gives up. */
export function restartDelay(strategy: RestartStrategy, restart: number): number | undefined {
  switch (strategy.kind) {
    case 'none':
      return undefined;
    case 'fixedDelay':
      return restart <= strategy.attempts ? strategy.delayMs : undefined;
    case 'exponentialDelay':
      if (strategy.attempts !== undefined && restart > strategy.attempts) return undefined;
      // Past ~1,000 restarts the power overflows to Infinity, and 0 * Infinity is NaN: a 0 delay stays 0.
      if (strategy.initialDelayMs === 0) return 0;
      return Math.min(strategy.maxDelayMs, strategy.initialDelayMs * (strategy.multiplier ?? 2) ** (restart - 1));
  }
}
