import { OptionChecker } from '../api/OptionChecker.js';
import { InvalidJobError } from './errors.js';

/**
 * What the runtime does when a job fails inside the process: give up
 * (`none`), or restart from the latest completed checkpoint (from the start
 * when there is none) after a delay.
 */
export type RestartStrategy =
  | { readonly kind: 'none' }
  | { readonly kind: 'fixedDelay'; readonly attempts: number; readonly delayMs: number }
  | {
      readonly kind: 'exponentialDelay';
      readonly initialDelayMs: number;
      readonly maxDelayMs: number;
      /** Default 2. */
      readonly multiplier?: number;
      /** Restarts before giving up. Default: unlimited. */
      readonly attempts?: number;
    };

/** Factories for {@link RestartStrategy} values. */
export const RestartStrategies = {
  none: (): RestartStrategy => ({ kind: 'none' }),
  fixedDelay: (attempts: number, delayMs: number): RestartStrategy => ({ kind: 'fixedDelay', attempts, delayMs }),
  exponentialDelay: (options: Omit<Extract<RestartStrategy, { kind: 'exponentialDelay' }>, 'kind'>): RestartStrategy => ({
    kind: 'exponentialDelay',
    ...options,
  }),
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
  const nonNegative = (name: string, v: number | undefined) => {
    if (v !== undefined && !(v >= 0)) {
      throw new InvalidJobError(`restartStrategy ${strategy.kind}: ${name} must be a number >= 0, got ${String(v)}`);
    }
  };
  switch (strategy.kind) {
    case 'none':
      break;
    case 'fixedDelay':
      check.integer('attempts', strategy.attempts, 0);
      nonNegative('delayMs', strategy.delayMs);
      break;
    case 'exponentialDelay':
      nonNegative('initialDelayMs', strategy.initialDelayMs);
      nonNegative('maxDelayMs', strategy.maxDelayMs);
      if (strategy.attempts !== undefined) check.integer('attempts', strategy.attempts, 0);
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
      return Math.min(strategy.maxDelayMs, strategy.initialDelayMs * (strategy.multiplier ?? 2) ** (restart - 1));
  }
}
