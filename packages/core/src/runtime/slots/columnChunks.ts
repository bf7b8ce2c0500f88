import { types } from 'node:util';

/**
 * A chunk of records sent as one array per property: structured clone then copies a few
 * arrays instead of every record with its property names (the serializer writes the names
 * of every object it copies). Records qualify when they are plain objects with the same own
 * enumerable keys in the same order; their values may be anything structured clone takes,
 * and they are cloned in one message as before, so an object that two records' values share
 * arrives shared. The consumer rebuilds the records as plain objects; only a record that
 * refers to a record of its chunk (itself included) gets a copy of that record in its place,
 * as it would across two chunks. Any other chunk is cloned as is.
 */
export type ColumnChunk = readonly [keys: string[], columns: unknown[][]];

/**
 * Records with more keys go as they are: the builder's generated function holds a local per key, and at hundreds of
 * thousands of them its call overflows the stack; columns pay off for narrow records anyway.
 */
export const MAX_COLUMNS = 256;

/** The chunk as columns, or undefined when its records are not plain objects of one key list. */
export function toColumns(chunk: readonly unknown[]): ColumnChunk | undefined {
  const first = chunk[0];
  if (!isPlainObject(first)) return undefined;
  const keys = Object.keys(first);
  const width = keys.length;
  // Columns of no key would lose the record count; an own `__proto__` would be rebuilt through the prototype setter.
  if (width === 0 || width > MAX_COLUMNS || keys.includes('__proto__')) return undefined;
  const columns: unknown[][] = [];
  for (let c = 0; c < width; c++) columns.push(new Array<unknown>(chunk.length));
  for (let i = 0; i < chunk.length; i++) {
    const record = chunk[i];
    if (!isPlainObject(record)) return undefined;
    let c = 0;
    // for-in also sees inherited enumerable keys, which structured clone skips: they fail the check.
    for (const key in record) {
      if (key !== keys[c]) return undefined;
      (columns[c++] as unknown[])[i] = record[key];
    }
    if (c !== width) return undefined;
  }
  return [keys, columns];
}

/** Rebuilds the records of chunks sent as columns under one list of keys. */
export type RecordBuilder = (columns: readonly (readonly unknown[])[]) => Record<string, unknown>[];

/**
 * A builder for the records of `keys`: a generated function that makes each record as one
 * object literal, or the loop of {@link fromColumns} where code generation from strings is
 * disabled. The keys come from {@link toColumns}, so none is `__proto__`, which a literal
 * would treat as the prototype.
 */
export function recordBuilder(keys: readonly string[]): RecordBuilder {
  const fields = keys.map((key, c) => `${JSON.stringify(key)}: c${c}[i]`).join(', ');
  const columns = keys.map((_, c) => `c${c} = columns[${c}]`).join(', ');
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source is built from JSON-quoted keys only
    return new Function(
      'columns',
      `const ${columns}, n = c0.length, records = new Array(n);
      for (let i = 0; i < n; i++) records[i] = { ${fields} };
      return records;`,
    ) as RecordBuilder;
  } catch {
    return (values) => fromColumns(keys, values);
  }
}

/** The records of a chunk sent as columns, built key by key. */
export function fromColumns(keys: readonly string[], columns: readonly (readonly unknown[])[]): Record<string, unknown>[] {
  const length = columns[0]?.length ?? 0;
  const records = new Array<Record<string, unknown>>(length);
  for (let i = 0; i < length; i++) {
    const record: Record<string, unknown> = {};
    for (let c = 0; c < keys.length; c++) record[keys[c] as string] = (columns[c] as readonly unknown[])[i];
    records[i] = record;
  }
  return records;
}

/** A plain object, as structured clone copies it (a proxy it refuses, so columns must too). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype && !types.isProxy(value);
}

/**
 * The class of a record structured clone turns into a plain object (its methods and getters stay behind), or
 * undefined for plain data and the built-ins it keeps (arrays, dates, maps, errors, typed arrays ...).
 */
export function classLostInClone(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const prototype = Object.getPrototypeOf(record) as { constructor?: { name?: unknown } } | null;
  if (prototype === null || prototype === Object.prototype) return undefined;
  if (types.isDate(record) || types.isRegExp(record) || types.isMap(record) || types.isSet(record) || types.isNativeError(record)) return undefined;
  if (types.isAnyArrayBuffer(record) || types.isArrayBufferView(record) || types.isBoxedPrimitive(record)) return undefined;
  const name = prototype.constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'an anonymous class';
}
