/** An input line of the crash job. */
export interface Event {
  readonly id: number;
  readonly user: string;
  readonly amount: number;
}

/** An output line: the event with its user's running total and the service's score. */
export interface Enriched {
  readonly id: number;
  readonly user: string;
  /** The user's running total including this event. */
  readonly total: number;
  /** What the simulated service computed for the event. */
  readonly score: number;
}

/** The service's answer for an event: deterministic, so duplicates are identical. */
export const scoreOf = (id: number, total: number): number => (id * 31 + total) % 1000;
