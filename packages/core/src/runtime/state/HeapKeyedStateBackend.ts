import { describeValue, OptionChecker } from '../../api/OptionChecker.js';
import type { Key } from '../keyGroups.js';
import {
  checkReduce,
  type ListState,
  type ListStateDescriptor,
  type MapState,
  type MapStateDescriptor,
  type ReducingState,
  type ReducingStateDescriptor,
  type StateDescriptor,
  type ValueState,
  type ValueStateDescriptor,
} from './descriptors.js';

/** A state table: the values of one named state, by key. */
type Table = Map<Key, unknown>;

/** What a keyed state backend snapshot holds: every state's entries by name. */
export interface KeyedStateSnapshot {
  readonly states: Record<string, { readonly kind: StateDescriptor['kind']; readonly entries: [Key, unknown][] }>;
}

/**
 * Keyed state on the JavaScript heap, scoped to a current key.
 *
 * The operator sets the current key before it calls user code
 * (`setCurrentKey`), and every state handle reads and writes that key's
 * entry. Handles are cheap views; the tables are plain `Map`s.
 */
export class HeapKeyedStateBackend {
  private readonly tables = new Map<string, { kind: StateDescriptor['kind']; table: Table }>();
  private key: Key | undefined;

  setCurrentKey(key: Key): void {
    this.key = key;
  }

  get currentKey(): Key {
    if (this.key === undefined) throw new Error('No current key: keyed state is only available while a keyed record or timer is processed');
    return this.key;
  }

  /** Every key that has an entry in any state (used by tests and rescaling). */
  keys(): Set<Key> {
    const keys = new Set<Key>();
    for (const { table } of this.tables.values()) for (const k of table.keys()) keys.add(k);
    return keys;
  }

  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    const table = this.table(descriptor, 'getState');
    const fallback = descriptor.defaultValue;
    // Each key gets its own copy of an object default (Flink copies it too): one shared object, changed
    // and updated under one key, would be every other key's default.
    const defaultValue = typeof fallback === 'object' && fallback !== null ? () => structuredClone(fallback) : () => fallback;
    // One lookup per access: an entry is never `undefined` (updating to undefined clears it).
    return {
      value: () => {
        const v = table.get(this.currentKey) as T | undefined;
        return v === undefined ? defaultValue() : v;
      },
      update: (value) => {
        if (value === undefined) table.delete(this.currentKey);
        else table.set(this.currentKey, value);
      },
      clear: () => {
        table.delete(this.currentKey);
      },
    };
  }

  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    const table = this.table(descriptor, 'getListState');
    const list = (): T[] => {
      let l = table.get(this.currentKey) as T[] | undefined;
      if (l === undefined) table.set(this.currentKey, (l = []));
      return l;
    };
    return {
      get: () => (table.get(this.currentKey) as T[] | undefined) ?? [],
      add: (value) => {
        list().push(value);
      },
      addAll: (values) => {
        // A loop, not push(...values): spread arguments overflow the stack past about 100,000 values.
        const held = list();
        for (const value of values) held.push(value);
      },
      update: (values) => {
        table.set(this.currentKey, [...values]);
      },
      clear: () => {
        table.delete(this.currentKey);
      },
    };
  }

  getMapState<TMapKey, TValue>(descriptor: MapStateDescriptor<TMapKey, TValue>): MapState<TMapKey, TValue> {
    const table = this.table(descriptor, 'getMapState');
    const current = (): Map<TMapKey, TValue> | undefined => table.get(this.currentKey) as Map<TMapKey, TValue> | undefined;
    const orCreate = (): Map<TMapKey, TValue> => {
      let m = current();
      if (m === undefined) table.set(this.currentKey, (m = new Map()));
      return m;
    };
    const empty = new Map<TMapKey, TValue>();
    return {
      get: (k) => current()?.get(k),
      put: (k, v) => {
        orCreate().set(k, v);
      },
      putAll: (entries) => {
        const m = orCreate();
        for (const [k, v] of entries) m.set(k, v);
      },
      remove: (k) => {
        const m = current();
        if (m === undefined) return;
        m.delete(k);
        if (m.size === 0) table.delete(this.currentKey);
      },
      contains: (k) => current()?.has(k) ?? false,
      entries: () => (current() ?? empty).entries(),
      keys: () => (current() ?? empty).keys(),
      values: () => (current() ?? empty).values(),
      isEmpty: () => (current()?.size ?? 0) === 0,
      clear: () => {
        table.delete(this.currentKey);
      },
    };
  }

  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T> {
    const table = this.table(descriptor, 'getReducingState');
    checkReduce(descriptor);
    return {
      get: () => table.get(this.currentKey) as T | undefined,
      add: (value) => {
        const key = this.currentKey;
        table.set(key, table.has(key) ? descriptor.reduce(table.get(key) as T, value) : value);
      },
      clear: () => {
        table.delete(this.currentKey);
      },
    };
  }

  /** A deep copy of every state, safe to keep while processing goes on. */
  snapshot(): KeyedStateSnapshot {
    const states: Record<string, { kind: StateDescriptor['kind']; entries: [Key, unknown][] }> = {};
    for (const [name, { kind, table }] of this.tables) {
      try {
        states[name] = { kind, entries: cloneWithRoom([...table.entries()]) };
      } catch (error) {
        throw new TypeError(
          `Keyed state '${name}' holds a value a checkpoint cannot store (state values must be structured-cloneable: no functions or symbols; class instances come back as plain objects): ${String(error)}`,
          { cause: error },
        );
      }
    }
    return { states };
  }

  /**
   * Loads a snapshot taken by {@link snapshot}; states are matched by name and kind. A state already registered
   * is filled in place: a handle taken before the restore (an operator's constructor takes its own) sees the
   * restored values.
   */
  restore(snapshot: KeyedStateSnapshot): void {
    for (const [name, { kind, entries }] of Object.entries(snapshot.states)) {
      const existing = this.tables.get(name);
      if (existing !== undefined && existing.kind !== kind) {
        throw new Error(`Cannot restore keyed state '${name}': it was a ${kind} state and is now a ${existing.kind} state`);
      }
      const table = existing?.table ?? new Map<Key, unknown>();
      table.clear();
      for (const [key, value] of structuredClone(entries)) table.set(key, value);
      if (existing === undefined) this.tables.set(name, { kind, table });
    }
  }

  private table(descriptor: StateDescriptor, method: string): Table {
    // Asked for in open(): a wrong argument is named there, not as "Cannot read properties of null".
    if (typeof descriptor !== 'object' || descriptor === null) new OptionChecker(`${method}()`).fail(`needs a state descriptor, got ${describeValue(descriptor)}`);
    if (typeof descriptor.name !== 'string' || descriptor.name === '') {
      throw new Error('A state descriptor needs a non-empty name');
    }
    const existing = this.tables.get(descriptor.name);
    if (existing !== undefined) {
      if (existing.kind !== descriptor.kind) {
        throw new Error(
          `State '${descriptor.name}' is already registered as a ${existing.kind} state; it cannot also be a ${descriptor.kind} state`,
        );
      }
      return existing.table;
    }
    const entry: { kind: StateDescriptor['kind']; table: Table } = { kind: descriptor.kind, table: new Map() };
    this.tables.set(descriptor.name, entry);
    return entry.table;
  }
}

/**
 * Levels of nesting a copy must leave free: a stored checkpoint wraps each state value in about ten more (checkpoint,
 * operator, subtask, state, entry), and a restore reads it on a stack that may hold more frames than the one the copy
 * ran on. Without them, a value nested just under the limit passed here, its checkpoints were stored, and none read back.
 */
const NESTING_ROOM = 128;

/** `structuredClone(value)`, failing as it would for a value nested `NESTING_ROOM` levels deeper. */
function cloneWithRoom<T>(value: T): T {
  let wrapped: unknown = value;
  for (let i = 0; i < NESTING_ROOM; i++) wrapped = [wrapped];
  let copy = structuredClone(wrapped);
  for (let i = 0; i < NESTING_ROOM; i++) copy = (copy as unknown[])[0];
  return copy as T;
}
