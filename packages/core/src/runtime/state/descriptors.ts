/**
 * State descriptors: how an operator names and types a piece of keyed state.
 * The same descriptor in `open()` of every subtask gives each key its own value.
 */

import { OptionChecker } from '../../api/OptionChecker.js';
import { messageOf } from '../errors.js';

/** One value per key. */
export class ValueStateDescriptor<T> {
  readonly kind = 'value';
  constructor(
    readonly name: string,
    /**
     * Returned by `value()` when the key has no value yet; an object is
     * structured-cloned for each such key (as checkpointed state is), so keys
     * never share it.
     */
    readonly defaultValue?: T,
  ) {
    new OptionChecker('ValueStateDescriptor').nonEmptyString('name', name);
    if (typeof defaultValue === 'object' && defaultValue !== null) {
      try {
        structuredClone(defaultValue);
      } catch (error) {
        throw new TypeError(`the default value of state '${name}' cannot be copied for each key: ${messageOf(error)}`, {
          cause: error,
        });
      }
    }
  }
}

/** A list per key. */
export class ListStateDescriptor<T> {
  readonly kind = 'list';
  declare readonly _element?: T;
  constructor(readonly name: string) {
    new OptionChecker('ListStateDescriptor').nonEmptyString('name', name);
  }
}

/** A map per key. `TMapKey` compares by value, as in a JavaScript `Map` of primitives. */
export class MapStateDescriptor<TMapKey, TValue> {
  readonly kind = 'map';
  declare readonly _entry?: [TMapKey, TValue];
  constructor(readonly name: string) {
    new OptionChecker('MapStateDescriptor').nonEmptyString('name', name);
  }
}

/** A value per key folded with `reduce` on every `add`. */
export class ReducingStateDescriptor<T> {
  readonly kind = 'reducing';
  constructor(
    readonly name: string,
    readonly reduce: (accumulator: T, value: T) => T,
  ) {
    new OptionChecker('ReducingStateDescriptor').nonEmptyString('name', name);
    checkReduce(this);
  }
}

/** Checked when the descriptor is made and again by `getReducingState` (which may get a look-alike object); else a key's second record fails with "reduce is not a function". */
export function checkReduce(descriptor: { readonly name: string; readonly reduce: unknown }): void {
  new OptionChecker(`ReducingStateDescriptor '${descriptor.name}'`).func('reduce', descriptor.reduce);
}

export type StateDescriptor =
  | ValueStateDescriptor<unknown>
  | ListStateDescriptor<unknown>
  | MapStateDescriptor<unknown, unknown>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the reducer's parameter makes T invariant
  | ReducingStateDescriptor<any>;

/** The value of the current key. */
export interface ValueState<T> {
  /** The current key's value, or the descriptor's default. */
  value(): T | undefined;
  /** Sets the current key's value; `undefined` clears it (as `null` does in Flink). */
  update(value: T): void;
  clear(): void;
}

/** The list of the current key. */
export interface ListState<T> {
  /** The current key's elements (a live, read-only view: copy it before keeping it). */
  get(): readonly T[];
  add(value: T): void;
  addAll(values: Iterable<T>): void;
  update(values: Iterable<T>): void;
  clear(): void;
}

/** The map of the current key. */
export interface MapState<TMapKey, TValue> {
  get(key: TMapKey): TValue | undefined;
  put(key: TMapKey, value: TValue): void;
  putAll(entries: Iterable<readonly [TMapKey, TValue]>): void;
  remove(key: TMapKey): void;
  contains(key: TMapKey): boolean;
  entries(): IterableIterator<[TMapKey, TValue]>;
  keys(): IterableIterator<TMapKey>;
  values(): IterableIterator<TValue>;
  isEmpty(): boolean;
  clear(): void;
}

/** The reduced value of the current key. */
export interface ReducingState<T> {
  get(): T | undefined;
  add(value: T): void;
  clear(): void;
}
