import { describe, expect, it } from 'vitest';
import { brandClass, InvalidJobError, KeyedStream, OutputTag, StreamExecutionEnvironment } from '../src/index.js';

/** What a second installed copy of a package holds: classes of the same names, defined again. */
function defineCopy() {
  class Tag {
    static {
      brandClass(this, 'test.Tag');
    }
  }
  class SubTag extends Tag {}
  class Other {
    static {
      brandClass(this, 'test.Other');
    }
  }
  return { Tag, SubTag, Other };
}

describe('brandClass', () => {
  const a = defineCopy();
  const b = defineCopy();

  it("makes instanceof accept another copy's instances and their subclasses", () => {
    expect(a.Tag).not.toBe(b.Tag);
    expect(new b.Tag()).toBeInstanceOf(a.Tag);
    expect(new b.SubTag()).toBeInstanceOf(a.Tag);
    expect(new a.Tag()).toBeInstanceOf(b.Tag);
  });

  it('rejects everything without the brand of that name', () => {
    for (const value of [new b.Other(), {}, Object.create(null), null, undefined, 1, 'test.Tag', a.Tag]) {
      expect(value instanceof a.Tag).toBe(false);
    }
  });

  it('leaves subclasses without a brand of their own with the ordinary prototype check', () => {
    expect(new a.SubTag()).toBeInstanceOf(a.SubTag);
    expect(new a.Tag() instanceof a.SubTag).toBe(false);
    expect(new b.SubTag() instanceof a.SubTag).toBe(false);
  });

  it("brands core's classes that other packages check: KeyedStream, OutputTag and the errors", () => {
    const mark = (name: string) => ({ [Symbol.for(`tributary.${name}`)]: true });
    expect(mark('KeyedStream')).toBeInstanceOf(KeyedStream);
    expect(mark('OutputTag')).toBeInstanceOf(OutputTag);
    expect(mark('InvalidJobError')).toBeInstanceOf(InvalidJobError);
    const env = StreamExecutionEnvironment.create();
    expect(env.fromElements(1).keyBy((n) => n)).toBeInstanceOf(KeyedStream);
    expect(env.fromElements(1)).not.toBeInstanceOf(KeyedStream);
  });
});
