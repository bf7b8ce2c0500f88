import { AsyncDataStream } from '@tributary/async';
import { StreamExecutionEnvironment, type SingleOutputStream } from '@tributary/core';
import { describe, expectTypeOf, it } from 'vitest';
import { openAIChat, openAIEmbeddings, type ChatCompletion, type Embedding } from '../src/index.js';

interface Doc {
  readonly id: number;
  readonly body: string;
}

describe('types', () => {
  it('infers the record type from the text extractor and the vector type from float32', () => {
    const arrays = openAIEmbeddings({ model: 'm', text: (d: Doc) => d.body });
    const floats = openAIEmbeddings({ model: 'm', text: (d: Doc) => d.body, float32: true });
    const chat = openAIChat({ model: 'm', text: (d: Doc) => d.body });
    expectTypeOf(arrays).returns.resolves.toEqualTypeOf<Embedding<Doc, number[]>[]>();
    expectTypeOf(floats).returns.resolves.toEqualTypeOf<Embedding<Doc, Float32Array>[]>();
    expectTypeOf(chat).returns.resolves.toEqualTypeOf<ChatCompletion<Doc>>();
  });

  it('gives the per-record operator a stream of chat completions', () => {
    const env = StreamExecutionEnvironment.create();
    const docs = env.fromElements<Doc>({ id: 1, body: 'a' });
    const answers = AsyncDataStream.unorderedWait(docs, openAIChat({ model: 'm', text: (d: Doc) => d.body }), { capacity: 4 });
    expectTypeOf(answers.map((a) => a.content)).toEqualTypeOf<SingleOutputStream<string | null>>();
  });

  it('gives the batch operator a stream of embeddings', () => {
    const env = StreamExecutionEnvironment.create();
    const docs = env.fromElements<Doc>({ id: 1, body: 'a' });
    const embedded = AsyncDataStream.unorderedWaitBatch(docs, openAIEmbeddings({ model: 'm', text: (d: Doc) => d.body }), { maxBatchSize: 8 });
    embedded.map((e) => {
      expectTypeOf(e.input).toEqualTypeOf<Doc>();
      expectTypeOf(e.embedding).toEqualTypeOf<number[]>();
      return e.input.id;
    });
  });
});
