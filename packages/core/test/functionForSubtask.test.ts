import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { functionForSubtask } from '../src/index.js';

// V8's own answer to "do these objects share a hidden class?", which decides whether a call site
// that sees both stays monomorphic. The flag only affects functions compiled after it is set.
v8.setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- %HaveSameMap exists only in code compiled with the flag above
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

interface Counter {
  count: number;
  label?: string;
  open(): void;
  bump(): number;
}

/** A rich function as a job builds it: a new object per job, from the same code. */
const makeCounter = (): Counter => ({
  count: 0,
  open() {
    this.label = 'opened';
  },
  bump() {
    return ++this.count;
  },
});

class Doubler {
  factor = 2;
  map(v: number): number {
    return v * this.factor;
  }
}

describe('functionForSubtask: the shallow copy of a plain object (the fallback)', () => {
  it('gives copies of functions built the same way one hidden class, as two jobs build them', () => {
    expect(haveSameMap(functionForSubtask(makeCounter(), 'map'), functionForSubtask(makeCounter(), 'map'))).toBe(true);
    expect(haveSameMap(functionForSubtask(new Doubler(), 'map'), functionForSubtask(new Doubler(), 'map'))).toBe(true);
    // What it replaced: a copy whose prototype is the job's own object has a class per job.
    expect(haveSameMap(Object.create(makeCounter()) as object, Object.create(makeCounter()) as object)).toBe(false);
  });

  it('copies own fields and methods, keeps the prototype, and keeps what open() sets to the copy', () => {
    const original = makeCounter();
    const copy = functionForSubtask(original, 'map');
    expect(copy).not.toBe(original);
    copy.open();
    expect([copy.bump(), copy.bump()]).toEqual([1, 2]);
    expect(copy.label).toBe('opened');
    expect(original).toMatchObject({ count: 0 });
    expect(original.label).toBeUndefined();

    const doubler = functionForSubtask(new Doubler(), 'map');
    expect(doubler).toBeInstanceOf(Doubler);
    expect(doubler.map(21)).toBe(42);
  });

  it('copies accessors and symbol-keyed properties as they are, without calling the getter', () => {
    const tag = Symbol('tag');
    let reads = 0;
    const original = {
      [tag]: 'kept',
      get reads(): number {
        return ++reads;
      },
    };
    const copy = functionForSubtask(original, 'map');
    expect(reads).toBe(0);
    expect(copy[tag]).toBe('kept');
    expect(copy.reads).toBe(1);
  });

  it('gives a Proxy (a mock whose methods come from its get trap) a copy that still reaches the trap', () => {
    const mock = new Proxy({} as { map(v: number): number }, {
      get: (_target, name) => (name === 'map' ? (v: number) => v * 3 : undefined),
    });
    expect(functionForSubtask(mock, 'map').map(2)).toBe(6);
  });

  it('shares plain functions and other values as they are', () => {
    const fn = (v: number): number => v + 1;
    expect(functionForSubtask(fn, 'map')).toBe(fn);
    expect(functionForSubtask(null, 'map')).toBeNull();
  });
});
