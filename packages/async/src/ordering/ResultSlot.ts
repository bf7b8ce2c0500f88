import type { Key } from '@tributary/core';

export const PENDING = 0;
export const NONE = 1;
export const ONE = 2;
export const MANY = 3;

/** Slots that must be emitted in order: all of them (`ordered`) or one key's (`key-ordered`). */
export class Lane<TIn, TOut> {
  head: ResultSlot<TIn, TOut> | undefined = undefined;
  tail: ResultSlot<TIn, TOut> | undefined = undefined;
  constructor(readonly key: Key | undefined) {}
}

/** One input record's place in the output order, and its result once known. */
export class ResultSlot<TIn, TOut> {
  state: typeof PENDING | typeof NONE | typeof ONE | typeof MANY = PENDING;
  value: TOut | readonly TOut[] | undefined = undefined;
  next: ResultSlot<TIn, TOut> | undefined = undefined;

  constructor(
    readonly input: TIn,
    readonly lane: Lane<TIn, TOut>,
  ) {}

  get pending(): boolean {
    return this.state === PENDING;
  }

  /** The outputs this completed slot still holds (for snapshots). */
  get outputs(): readonly TOut[] {
    return this.state === ONE ? [this.value as TOut] : this.state === MANY ? (this.value as readonly TOut[]) : [];
  }

  /** This record's result is no output at all (dead-lettered, or its batch's outputs sit on an earlier slot). */
  resolveNone(): void {
    this.state = NONE;
  }

  resolveOne(value: TOut): void {
    this.state = ONE;
    this.value = value;
  }

  resolveMany(values: readonly TOut[]): void {
    this.state = values.length === 0 ? NONE : MANY;
    this.value = values;
  }
}
