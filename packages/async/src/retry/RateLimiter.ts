import type { Clock } from '@tributary/core';

/** Rate limits of the calls an async operator makes (per subtask). */
export interface RateLimit {
  /** Calls started per second, retries included. */
  readonly requestsPerSecond?: number | undefined;
  /** Records sent per second, over all calls. */
  readonly itemsPerSecond?: number | undefined;
}

/**
 * A token bucket on the injected clock. It holds one second of tokens
 * (at least one) and starts full; a request costing more than the bucket
 * holds waits until it is full and then leaves it in debt, so a batch
 * larger than one second's budget still goes, just rarely.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly size: number;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.size = Math.max(1, perSecond);
    this.tokens = this.size;
    this.last = now;
  }

  /** Milliseconds until `cost` tokens can be taken (0: now). */
  waitFor(cost: number, now: number): number {
    this.refill(now);
    const need = Math.min(cost, this.size);
    return this.tokens >= need ? 0 : Math.ceil(((need - this.tokens) * 1000) / this.perSecond);
  }

  take(cost: number): void {
    this.tokens -= cost;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.size, this.tokens + ((now - this.last) * this.perSecond) / 1000);
      this.last = now;
    }
  }
}

/** Requests and items per second together: a call goes when both buckets allow it. */
export class RateLimiter {
  private readonly requests: TokenBucket | undefined;
  private readonly items: TokenBucket | undefined;

  constructor(
    limit: RateLimit,
    private readonly clock: Clock,
  ) {
    const now = clock.now();
    this.requests = limit.requestsPerSecond === undefined ? undefined : new TokenBucket(limit.requestsPerSecond, now);
    this.items = limit.itemsPerSecond === undefined ? undefined : new TokenBucket(limit.itemsPerSecond, now);
  }

  /** Takes the tokens of a call of `size` records and returns 0, or returns how long to wait (taking nothing). */
  tryAcquire(size: number): number {
    const now = this.clock.now();
    const wait = Math.max(this.requests?.waitFor(1, now) ?? 0, this.items?.waitFor(size, now) ?? 0);
    if (wait > 0) return wait;
    this.requests?.take(1);
    this.items?.take(size);
    return 0;
  }
}
