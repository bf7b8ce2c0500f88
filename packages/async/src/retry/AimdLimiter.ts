/** What a throttled call multiplies the limit by. */
const DECREASE_FACTOR = 0.5;

/**
 * The concurrency limit under throttling: additive increase, multiplicative
 * decrease (TCP's rule, and Flink's `AIMDScalingStrategy` in its async sink).
 * A throttled call halves the limit; each successful
 * call adds `1 / limit`, so the limit grows by about one per round of calls.
 * The limit stays within [1, max].
 */
export class AimdLimiter {
  private value: number;

  constructor(
    private readonly max: number,
    /** Told when the whole-number limit moves. */
    private readonly onChange: (limit: number, previous: number) => void = () => undefined,
  ) {
    this.value = max;
  }

  /** Calls allowed in flight now. */
  get limit(): number {
    return Math.max(1, Math.floor(this.value));
  }

  onSuccess(): void {
    if (this.value < this.max) this.set(Math.min(this.max, this.value + 1 / this.value));
  }

  onThrottle(): void {
    this.set(Math.max(1, this.value * DECREASE_FACTOR));
  }

  private set(value: number): void {
    const previous = this.limit;
    this.value = value;
    if (this.limit !== previous) this.onChange(this.limit, previous);
  }
}
