import { describe, expect, it } from 'vitest';
import { InputChannel } from '../../src/runtime/InputChannel.js';
import { classLostInClone, fromColumns, MAX_COLUMNS, recordBuilder, toColumns } from '../../src/runtime/slots/columnChunks.js';
import { COLUMNS } from '../../src/runtime/slots/peerMessages.js';
import { RemoteQueue } from '../../src/runtime/slots/RemoteQueue.js';

class Point {
  constructor(readonly x: number) {}
}

const shared = { tags: ['a', 'b'] };

const columnar: { name: string; chunk: Record<string, unknown>[] }[] = [
  { name: '{ key, value } records', chunk: [{ key: 'a', value: 1 }, { key: 'b', value: 2.5 }] },
  { name: 'every primitive kind', chunk: [{ s: '', n: -0, nan: Number.NaN, t: true, z: null, u: undefined }] },
  { name: 'integer-like and unicode keys', chunk: [{ 2: 'two', 1: 'one', 'ключ': 'v' }, { 1: 'uno', 2: 'dos', 'ключ': 'w' }] },
  // Keys a generated builder must quote: quotes, backslashes, line breaks, names of its own variables.
  { name: 'keys that are not identifiers', chunk: [{ 'a"b': 1, 'c\\d': 2, 'e\nf\u2028': 3, '`${x}`': 4, i: 5, c0: 6, records: 7, '': 8 }] },
  { name: 'nested objects and arrays', chunk: [{ id: 1, doc: { text: 'x', words: ['x'] } }, { id: 2, doc: { text: 'y', words: [] } }] },
  { name: 'values structured clone copies', chunk: [{ at: new Date(0), n: 1n, m: new Map([[1, 'one']]), v: new Float32Array([0.5, 1]), e: new RangeError('r') }] },
  { name: 'class instances as values', chunk: [{ point: new Point(1) }] },
];

const notFlat = [
  { name: 'an empty chunk', chunk: [] },
  { name: 'records without keys', chunk: [{}, {}] },
  { name: 'keys in another order', chunk: [{ a: 1, b: 2 }, { b: 3, a: 4 }] },
  { name: 'a key more', chunk: [{ a: 1 }, { a: 2, b: 3 }] },
  { name: 'a key less', chunk: [{ a: 1, b: 2 }, { a: 3 }] },
  { name: 'a class instance', chunk: [new Point(1)] },
  { name: 'an own __proto__ key', chunk: [JSON.parse('{"__proto__": 1, "a": 2}') as unknown] },
  { name: 'arrays', chunk: [['a', 1]] },
  { name: 'strings', chunk: ['a', 'b'] },
  { name: 'a proxy (structured clone refuses it)', chunk: [new Proxy({ a: 1 }, {})] },
  { name: 'an object without prototype', chunk: [Object.assign(Object.create(null) as object, { a: 1 })] },
];

describe('column chunks', () => {
  it.each(columnar)('$name go as columns and come back as structured clone delivers them', ({ chunk }) => {
    const columns = toColumns(chunk);
    expect(columns).toBeDefined();
    const [keys, values] = structuredClone(columns!);
    // Both ways of rebuilding: the generated builder, and the loop used where code generation is off.
    for (const back of [recordBuilder(keys)(values), fromColumns(keys, values)]) {
      expect(back).toEqual(structuredClone(chunk));
      // Same keys in the same order (what JSON.stringify and Object.keys show), -0 and NaN kept.
      expect(back.map((r) => Object.keys(r))).toEqual(chunk.map((r) => Object.keys(r)));
      expect(back.map((r) => Object.entries(r).map(([, v]) => (Object.is(v, -0) ? '-0' : v)))).toEqual(
        chunk.map((r) => Object.entries(r).map(([, v]) => (Object.is(v, -0) ? '-0' : v))),
      );
    }
  });

  it(`sends records of more than ${MAX_COLUMNS} keys as they are (a builder for a million keys overflowed the stack when called)`, () => {
    const wide = (width: number) => [Object.fromEntries(Array.from({ length: width }, (_, i) => [`k${i}`, i]))];
    expect(toColumns(wide(MAX_COLUMNS))?.[0]).toHaveLength(MAX_COLUMNS);
    expect(toColumns(wide(MAX_COLUMNS + 1))).toBeUndefined();
  });

  it('keeps an object that two records share shared, as cloning the chunk would', () => {
    const [keys, values] = structuredClone(toColumns([{ id: 1, meta: shared }, { id: 2, meta: shared }])!);
    const [first, second] = recordBuilder(keys)(values);
    expect(first!.meta).toEqual(shared);
    expect(first!.meta).not.toBe(shared);
    expect(second!.meta).toBe(first!.meta);
  });

  it('gives a record that refers to itself a copy of itself in its place (identity between records is not kept)', () => {
    const record: { id: number; self?: unknown } = { id: 1 };
    record.self = record;
    const [keys, values] = structuredClone(toColumns([record])!);
    const [back] = recordBuilder(keys)(values) as { id: number; self: { id: number; self: unknown } }[];
    expect(back!.self).not.toBe(back);
    expect(back!.self.id).toBe(1);
    expect(back!.self.self).toBe(back!.self);
  });

  it('rebuilds the records with the loop where code generation from strings is disabled', () => {
    const original = globalThis.Function;
    // What `--disallow-code-generation-from-strings` (or a CSP) makes `new Function` do.
    globalThis.Function = function () {
      throw new EvalError('Code generation from strings disallowed for this context');
    } as unknown as FunctionConstructor;
    try {
      expect(recordBuilder(['a', 'b'])([[1, 2], ['x', 'y']])).toEqual([{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);
    } finally {
      globalThis.Function = original;
    }
  });

  it.each(notFlat)('$name are cloned as they are', ({ chunk }) => {
    expect(toColumns(chunk)).toBeUndefined();
  });

  it('leaves records that see an inherited enumerable key to structured clone (which skips that key)', () => {
    Object.defineProperty(Object.prototype, 'polluted', { value: 1, enumerable: true, configurable: true, writable: true });
    try {
      expect(toColumns([{ a: 1 }])).toBeUndefined();
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    expect(toColumns([{ a: 1 }])).toBeDefined();
  });

  it('a consumer compiles one builder per record shape, even when chunks alternate shapes', () => {
    const original = globalThis.Function;
    let compiled = 0;
    globalThis.Function = function (...args: string[]) {
      compiled++;
      return new original(...args);
    } as unknown as FunctionConstructor;
    try {
      const channel = new InputChannel<unknown>(1, 8);
      const queue = new RemoteQueue({ owe: () => undefined }, 0, 0);
      queue.attach(channel);
      const chunks = [[{ a: 1 }], [{ b: 'x', c: null }], [{ a: 2 }], [{ b: 'y', c: 0 }]];
      for (const chunk of chunks) {
        const [keys, columns] = toColumns(chunk)!;
        queue.deliver([COLUMNS, 0, keys, columns]);
      }
      expect([1, 2, 3, 4].map(() => channel.poll())).toEqual(chunks);
      expect(compiled).toBe(2);
    } finally {
      globalThis.Function = original;
    }
  });
});

describe('classLostInClone', () => {
  it('names the class of an instance structured clone turns into a plain object, and nothing for what it keeps', () => {
    class Order {
      total(): number {
        return 1;
      }
    }
    class Special extends Order {}
    expect([new Order(), new Special(), new (class {})()].map(classLostInClone)).toEqual(['Order', 'Special', 'an anonymous class']);
    const kept = [{ a: 1 }, Object.create(null), [new Order()], new Date(0), /x/, new Map(), new Set(), new RangeError('x'), new Float32Array(2), new ArrayBuffer(1), new String('s'), 1, 'a', null, undefined];
    expect(kept.map(classLostInClone)).toEqual(kept.map(() => undefined));
  });
});
