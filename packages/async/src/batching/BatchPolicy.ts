/** Gives each record a tag as it arrives (the ordered modes' result slot); the tag travels with the record. */
export interface Tagger<TIn, TTag> {
  append(record: TIn): TTag;
}

/** Receives each batch a policy closes, in the order they close. */
export interface BatchOwner<TIn, TTag> {
  /** Throws if a batch fails the job meanwhile (one past its deadline as this one joins the line): the policy stops there. */
  batchClosed(records: TIn[], tags: TTag[] | undefined, weight: number, firstArrival: number): void;
  /** The operator holds `capacity` records: an open batch cannot grow until a call ends. */
  readonly atCapacity: boolean;
  /** A call could start now: a call slot is free and no batch waits in line for one. */
  readonly callSlotFree: boolean;
}

/** How one call of the user function went, for a policy that adapts its batches to the service. */
export interface CallOutcome {
  /** Records in the call. */
  readonly size: number;
  /** Their weight (the `weigher`'s sum; 0 without one). */
  readonly weight: number;
  /** When the call started, on the operator's clock (ms). */
  readonly startedAt: number;
  /** From the call's start to its completion, in ms. */
  readonly durationMs: number;
  /** The service asked to slow down (a retry-after hint). */
  readonly throttled: boolean;
  /** The call failed (threw, completed exceptionally or with outputs the operator cannot use). */
  readonly failed: boolean;
}

/**
 * Decides when a batch closes and hands it to its owner: on size, weight,
 * delay, per batch key, or whatever an implementation learns from the
 * outcomes it observes. It never closes an empty batch. Today's behaviour is
 * {@link BatchAccumulator}; adaptive batching implements this with sizes and
 * waits chosen from `observe`.
 */
export interface BatchPolicy<TIn> {
  /** Records in open batches. */
  readonly size: number;
  /** Records the operator may hold (its `capacity`, or less when the policy wants fewer waiting). */
  readonly capacity: number;
  add(record: TIn): void;
  /** Adds records in order, with the effect of `add` on each. */
  addAll(records: readonly TIn[]): void;
  /** Closes every open batch (end of input, a full operator, a restore). */
  flushAll(): void;
  /** Every record in open batches, oldest batch first (for snapshots). */
  records(): Iterable<TIn>;
  /** Drops every open batch and its timer: the operator stopped (between actions, so nothing is added afterwards). */
  dispose(): void;
  /** A call ended (not a timed-out or abandoned one): what the next batches may learn from. */
  observe(outcome: CallOutcome): void;
  /** What the policy learned, as plain data for a checkpoint (the operator's list `batchPolicy`); undefined: nothing. */
  snapshot(): unknown;
  /** Takes back a `snapshot()` on restore; `where` names the operator in errors. */
  restore(state: unknown, where: string): void;
}
